import NudgeCore
import NudgeSystem

/// The file-system calls the spool makes, their failures turned into ``SpoolError``s
/// that name the path. Putting a file in place (rename, folder sync) is
/// ``DurableFiles``'s alone.
package enum Files {
    /// Creates `path` as a private directory (`0700`) unless it exists.
    package static func makeDirectory(_ path: String) throws(SpoolError) {
        do { try FileSystem.createDirectoryIfMissing(path) } catch { throw .cannotCreate(path: path, error: error) }
    }

    /// Copies the first `bytes` bytes of the file at `source` to `file` (written at `path`).
    package static func copy(from source: String, bytes: Int, to file: FileDescriptor, path: String) throws(SpoolError) {
        let input: FileDescriptor
        do { input = try .open(source, for: .reading) } catch { throw .cannotRead(path: source, error: error) }
        defer { input.close() }
        var chunk = [UInt8](repeating: 0, count: min(bytes, 1 << 20))
        var copied = 0
        while copied < bytes {
            let want = min(chunk.count, bytes - copied)
            let n: Int
            do { n = try input.read(into: &chunk, 0..<want, at: copied) } catch { throw .cannotRead(path: source, error: error) }
            guard n > 0 else { throw .cannotRead(path: source, error: .inputOutput) }
            try writeAll(file, Array(chunk[..<n]), path: path)
            copied += n
        }
    }

    /// Creates (or truncates) a private file (`0600`) for writing.
    package static func create(_ path: String) throws(SpoolError) -> FileDescriptor {
        do { return try .create(path) } catch { throw .cannotCreate(path: path, error: error) }
    }

    /// Opens an existing file of the spool for `access`.
    package static func open(_ path: String, for access: FileDescriptor.Access) throws(SpoolError) -> FileDescriptor {
        do { return try .open(path, for: access) } catch {
            throw access == .reading ? .cannotRead(path: path, error: error) : .cannotWrite(path: path, error: error)
        }
    }

    /// Writes all of `bytes`, retrying short writes.
    package static func writeAll(_ file: FileDescriptor, _ bytes: UnsafeRawBufferPointer, path: String) throws(SpoolError) {
        do { try file.writeAll(bytes) } catch { throw .cannotWrite(path: path, error: error) }
    }

    /// Writes all of `bytes`, retrying short writes.
    package static func writeAll(_ file: FileDescriptor, _ bytes: [UInt8], path: String) throws(SpoolError) {
        do { try file.writeAll(bytes) } catch { throw .cannotWrite(path: path, error: error) }
    }

    /// Makes what was written to `file` durable.
    package static func sync(_ file: FileDescriptor, path: String) throws(SpoolError) {
        do { try file.sync() } catch { throw .cannotWrite(path: path, error: error) }
    }

    /// Cuts `file` to `size` bytes and syncs it.
    package static func truncate(_ file: FileDescriptor, to size: Int, path: String) throws(SpoolError) {
        do {
            try file.truncate(to: size)
            try file.sync()
        } catch {
            throw .cannotWrite(path: path, error: error)
        }
    }

    /// Removes a file; false when there was none (or it could not be removed).
    @discardableResult
    package static func remove(_ path: String) -> Bool {
        FileSystem.remove(path)
    }

    /// Removes an empty folder; false when there was none or it is not empty.
    @discardableResult
    package static func removeEmptyDirectory(_ path: String) -> Bool {
        FileSystem.removeEmptyDirectory(path)
    }

    /// Whether anything (a file, a folder, a link) is at `path`.
    package static func exists(_ path: String) -> Bool {
        (try? FileSystem.status(of: path, followingLinks: false)) != nil
    }

    /// The names in a folder, sorted bytewise ("." and ".." left out); none when it
    /// cannot be listed.
    package static func names(in folder: String) -> [String] {
        ((try? FileSystem.entries(of: folder)) ?? []).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A whole (small) file's bytes.
    package static func read(_ path: String) throws(SpoolError) -> [UInt8] {
        let file = try open(path, for: .reading)
        defer { file.close() }
        do { return try file.readToEnd() } catch { throw .cannotRead(path: path, error: error) }
    }

    /// The bytes of the file at `path` from byte `offset` to its end.
    package static func read(_ path: String, from offset: Int) throws(SpoolError) -> [UInt8] {
        let file = try open(path, for: .reading)
        defer { file.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count: Int
            do { count = try file.read(into: &chunk, chunk.indices, at: offset + bytes.count) } catch {
                throw .cannotRead(path: path, error: error)
            }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
        }
    }

    /// The size of a regular file, or nil when there is none.
    package static func size(of path: String) -> Int? {
        FileSystem.regularFileSize(path)
    }
}
