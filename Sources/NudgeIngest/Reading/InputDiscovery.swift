import NudgeCore
import NudgeSpool
import NudgeSystem

/// Expands the command line's arguments into the inputs to read, in the contract's
/// order: arguments as given; a directory's regular files, recursively, sorted bytewise
/// by path (so Segment's `<source>/<received-day>/…` folders read chronologically).
/// Names are handled as bytes, so a file whose name is not UTF-8 is still read.
///
/// Under a folder named, hidden entries (a name starting with `.`) are skipped, and
/// so are symbolic links unless `followSymlinks`, and folders that are spools (they
/// hold a spool's ledger); `--include`/`--exclude` select the rest. Each is counted in
/// the ``Discovery`` for the summary.
///
/// What cannot be meant is a usage error (``InputError``), found before anything is
/// read or committed: a path that does not exist, a folder or prefix under which the
/// walk finds no input, a spool named (or a path inside one), an input that is a zip,
/// bzip2, xz or zstd file (by its first bytes; standard input, FIFOs and S3 objects are
/// known by them when read). A path that exists but cannot be read or listed is still
/// an input: reading it fails, which the contract makes a fault of that input.
///
/// An argument `remote` names (`s3://BUCKET/PREFIX`) is listed there: a full key is one
/// input, a prefix ending in `/` (or a name that is a folder) is walked like a
/// directory, keys in bytewise order, the same rules choosing among them. A listing that
/// fails throws: nothing is read.
package enum InputDiscovery {
    package static func inputs(
        for arguments: [String], options: WalkOptions = WalkOptions(), remote: (any RemoteInputSource)? = nil
    ) throws(InputError) -> Discovery {
        var discovery = Discovery()
        var problems: [InputError.Problem] = []
        for argument in arguments {
            if let remote, remote.names(argument) {
                let listing: RemoteListing
                do { listing = try remote.list(argument) } catch { throw InputError([.remote(error)]) }
                var found = Discovery()
                add(listing, options: options, to: &found)
                if found.inputs.isEmpty {
                    problems.append(.nothingFound(location: argument, leftOut: found.leftOutLines))
                }
                discovery.inputs += found.inputs
                discovery.addLeftOut(of: found)
                continue
            }
            let input = InputFile(path: argument)
            guard argument != "-" else {
                discovery.inputs.append(input)
                continue
            }
            let status: FileStatus?
            do { status = try FileSystem.status(of: input) } catch {
                // Only a path that is not there; one that cannot be reached is read, and fails as a fault.
                if error == .noSuchFile || error == .notADirectory {
                    problems.append(.noSuchPath(argument))
                    continue
                }
                status = nil
            }
            let isDirectory = status?.kind == .directory
            if let found = enclosingSpool(input, isDirectory: isDirectory) {
                problems.append(.spool(path: argument, within: found.isItself ? nil : String(decoding: found.spool, as: UTF8.self)))
                continue
            }
            guard let status, isDirectory else {
                // A named file is read even if it is a FIFO or device: the user asked for it.
                if status?.kind == .regular, let format = RefusedFormat.of(file: input) {
                    problems.append(.refusedFormat(path: argument, format: format, walked: false))
                }
                discovery.inputs.append(input)
                continue
            }
            var walk = Walk(options: options, visited: [FolderIdentity(device: status.device, inode: status.inode)])
            walk.walk(input.fileSystemPath)
            if walk.files.isEmpty {
                problems.append(.nothingFound(location: argument, leftOut: walk.found.leftOutLines))
            }
            for file in walk.files where file.unreadableReason == nil {
                if let format = RefusedFormat.of(file: file) {
                    problems.append(.refusedFormat(path: file.path, format: format, walked: true))
                }
            }
            discovery.inputs += walk.files.sorted { $0.fileSystemPath.lexicographicallyPrecedes($1.fileSystemPath) }
            discovery.addLeftOut(of: walk.found)
        }
        if !problems.isEmpty { throw InputError(problems) }
        return discovery
    }

    /// The spool that `input` is, or lies inside (its canonical path, and whether it is
    /// `input` itself), or nil.
    static func enclosingSpool(_ input: InputFile, isDirectory: Bool) -> (spool: [UInt8], isItself: Bool)? {
        guard var path = FileSystem.canonicalPath(input) else { return nil }
        var isItself = isDirectory
        if !isDirectory { path = parent(of: path) }
        while true {
            if Spool.holdsLedger(path) { return (path, isItself) }
            guard path.count > 1 else { return nil }
            path = parent(of: path)
            isItself = false
        }
    }

    /// `/a/b` → `/a`, `/a` → `/`.
    private static func parent(of path: [UInt8]) -> [UInt8] {
        guard let slash = path.lastIndex(of: 0x2F), slash > 0 else { return [0x2F] }
        return Array(path[..<slash])
    }

    /// A listing's objects as inputs: those walked as a folder pass the walk's rules
    /// (hidden names skipped, `--include`/`--exclude`), as files under a directory do.
    private static func add(_ listing: RemoteListing, options: WalkOptions, to discovery: inout Discovery) {
        // Folders below the location that hold a spool's ledger (a spool copied to the bucket).
        let ledger = Spool.ledgerRelativePath
        let spoolFolders = listing.relativePaths.compactMap { relative -> String? in
            guard let relative, relative == ledger || relative.hasSuffix("/" + ledger) else { return nil }
            return String(decoding: relative.utf8.dropLast(ledger.utf8.count), as: UTF8.self)
        }
        for (object, relative) in zip(listing.objects, listing.relativePaths) {
            guard let relative else {
                discovery.inputs.append(InputFile(remote: object))
                continue
            }
            let relativeBytes = Array(relative.utf8)
            let components = relativeBytes.split(separator: 0x2F, omittingEmptySubsequences: false)
            let base = String(decoding: object.url.utf8.dropLast(relativeBytes.count), as: UTF8.self)
            if let hidden = components.firstIndex(where: { $0.first == 0x2E }) {
                // Named once, as a walk names a hidden folder it does not enter.
                let name = String(decoding: Array(base.utf8) + Array(components[...hidden].joined(separator: [0x2F])), as: UTF8.self)
                if discovery.hidden.last != name { discovery.hidden.append(name) }
            } else if let spool = spoolFolders.first(where: { relative.hasPrefix($0) }) {
                let name = base + (spool.isEmpty ? "" : String(spool.dropLast()))
                if discovery.spools.last != name { discovery.spools.append(name) }
            } else if !options.admits(relativePath: relativeBytes, name: Array(components.last ?? [])) {
                discovery.excluded.append(object.url)
            } else {
                discovery.inputs.append(InputFile(remote: object))
            }
        }
    }

    struct FolderIdentity: Hashable { var device: UInt64; var inode: UInt64 }

    /// One directory walk: what it reads and what it leaves out. Breadth first, each
    /// folder's entries in bytewise order, so that when links make a folder reachable
    /// twice, the shorter path reads it and the result does not depend on the order
    /// the file system lists entries in.
    private struct Walk {
        let options: WalkOptions
        var visited: Set<FolderIdentity>
        var files: [InputFile] = []
        var found = Discovery()

        mutating func walk(_ root: [UInt8]) {
            var queue: [(path: [UInt8], relative: [UInt8])] = [(root, [])]
            var next = 0
            while next < queue.count {
                let (directory, relative) = queue[next]
                next += 1
                let names: [[UInt8]]
                do { names = try FileSystem.entries(of: directory) } catch {
                    files.append(InputFile(fileSystemPath: directory, unreadableReason: "cannot list the directory: \(error)"))
                    continue
                }
                let prefix = directory.last == 0x2F ? directory : directory + [0x2F]
                for name in names {
                    let child = InputFile(fileSystemPath: prefix + name)
                    let childRelative = relative.isEmpty ? name : relative + [0x2F] + name
                    if name.first == 0x2E {
                        found.hidden.append(child.path)
                        continue
                    }
                    guard var status = try? FileSystem.status(of: child, followingLinks: false) else { continue }
                    if status.kind == .symbolicLink {
                        guard options.followSymlinks else {
                            found.symbolicLinks.append(child.path)
                            continue
                        }
                        guard let target = try? FileSystem.status(of: child) else {
                            found.brokenLinks.append(child.path)
                            continue
                        }
                        status = target
                    }
                    switch status.kind {
                    case .regular:
                        if options.admits(relativePath: childRelative, name: name) {
                            files.append(child)
                        } else {
                            found.excluded.append(child.path)
                        }
                    case .directory:
                        if Spool.holdsLedger(child.fileSystemPath) {
                            found.spools.append(child.path)
                            continue
                        }
                        // Each folder once: a link back to a folder being walked would never end.
                        let identity = FolderIdentity(device: status.device, inode: status.inode)
                        guard visited.insert(identity).inserted else {
                            found.loops.append(child.path)
                            continue
                        }
                        queue.append((child.fileSystemPath, childRelative))
                    case .symbolicLink, .other:
                        continue  // sockets, devices, FIFOs: only regular files are read from a walk
                    }
                }
            }
        }
    }
}
