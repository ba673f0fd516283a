import Glibc

/// The calls on paths the tool makes: folders, names, renames and status, each
/// throwing a typed ``SystemError``.
package enum FileSystem {
    /// Creates `path` as a folder private to the user (`0700`) unless it exists.
    package static func createDirectoryIfMissing(_ path: some SystemPath) throws(SystemError) {
        do {
            _ = try path.call { mkdir($0, 0o700) }
        } catch {
            if error != .alreadyExists { throw error }
        }
    }

    /// Renames `source` to `destination`, replacing what is there (atomically).
    package static func rename(_ source: some SystemPath, to destination: some SystemPath) throws(SystemError) {
        _ = try source.call { from in destination.withSystemPath { Glibc.rename(from, $0) } }
    }

    /// Removes the file at `path`; false when it could not be (missing, most often).
    @discardableResult
    package static func remove(_ path: some SystemPath) -> Bool {
        path.withSystemPath { unlink($0) } == 0
    }

    /// Removes the empty folder at `path` (`rmdir`); false when it could not be
    /// (missing, or not empty).
    @discardableResult
    package static func removeEmptyDirectory(_ path: some SystemPath) -> Bool {
        path.withSystemPath { rmdir($0) } == 0
    }

    /// The status of what `path` names; with `followingLinks` false, a symbolic link's own.
    package static func status(of path: some SystemPath, followingLinks: Bool = true) throws(SystemError) -> FileStatus {
        var info = stat()
        _ = try path.call { followingLinks ? stat($0, &info) : lstat($0, &info) }
        return FileStatus(info)
    }

    /// The size of the regular file at `path`; nil for anything else or nothing.
    package static func regularFileSize(_ path: some SystemPath) -> Int? {
        guard let status = try? status(of: path), status.kind == .regular else { return nil }
        return status.size
    }

    /// Throws unless the folder at `path` may be listed and entered (`access(R_OK | X_OK)`).
    package static func checkListable(_ path: some SystemPath) throws(SystemError) {
        _ = try path.call { access($0, R_OK | X_OK) }
    }

    /// The names in the folder at `path` but `.` and `..`, as the file system's bytes,
    /// sorted bytewise.
    package static func entries(of path: some SystemPath) throws(SystemError) -> [[UInt8]] {
        let (handle, error) = path.withSystemPath { path in
            let handle = opendir(path)
            return (handle, handle == nil ? SystemError.current : nil)
        }
        guard let handle else { throw error ?? .inputOutput }
        defer { closedir(handle) }
        var names: [[UInt8]] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            if name != [0x2E] && name != [0x2E, 0x2E] { names.append(name) }
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Whether `name` matches the shell pattern `glob` (`fnmatch`: `*`, `?`, `[…]`); with
    /// `slashesMustMatch`, a wildcard never matches a `/`, which only a `/` matches.
    package static func matches(glob: String, _ name: [UInt8], slashesMustMatch: Bool) -> Bool {
        name.withSystemPath { fnmatch(glob, $0, slashesMustMatch ? FNM_PATHNAME : 0) == 0 }
    }

    /// The absolute path with every link, `.` and `..` resolved (`realpath`); nil when
    /// some part of it does not exist.
    package static func canonicalPath(_ path: some SystemPath) -> [UInt8]? {
        path.withSystemPath { path -> [UInt8]? in
            guard let resolved = realpath(path, nil) else { return nil }
            defer { free(resolved) }
            return Array(UnsafeRawBufferPointer(start: resolved, count: strlen(resolved)))
        }
    }
}
