import NudgeCore
import NudgeSystem

/// One input to read: a file, standard input, or an object in S3.
public struct InputFile: Sendable, Equatable {
    /// The path as reached from the command-line argument (the argument joined with the
    /// path walked below it); `-` for standard input; `s3://BUCKET/KEY` for an object.
    /// Records carry it as `source.file`; bytes of a file name that are not UTF-8 show
    /// as U+FFFD here.
    public let path: String
    /// The path's bytes as the file system has them: what is opened (for an object,
    /// its URL's bytes, never opened).
    public let fileSystemPath: [UInt8]
    /// Why the input cannot be read, when that is known before opening it
    /// (a directory that cannot be listed). Reported as a fault, like a failed open.
    public let unreadableReason: String?
    /// The object, for an input in S3 (read through the run's ``RemoteInputSource``).
    public let remote: RemoteObject?

    public var isStandardInput: Bool { remote == nil && fileSystemPath == [0x2D] }

    /// The size of a regular file, or the listed size of an object; nil for standard
    /// input, a FIFO, a device or a path that cannot be stat-ed (inputs whose size is
    /// unknown, and that cannot be read twice).
    public var regularFileSize: Int? {
        if let remote { return remote.size }
        guard !isStandardInput else { return nil }
        return FileSystem.regularFileSize(fileSystemPath)
    }

    public init(path: String, unreadableReason: String? = nil) {
        self.init(fileSystemPath: Array(path.utf8), unreadableReason: unreadableReason)
    }

    public init(fileSystemPath: [UInt8], unreadableReason: String? = nil) {
        self.fileSystemPath = fileSystemPath
        self.path = String(decoding: fileSystemPath, as: UTF8.self)
        self.unreadableReason = unreadableReason
        remote = nil
    }

    /// An object in S3: its path is its `s3://` URL.
    public init(remote object: RemoteObject) {
        path = object.url
        fileSystemPath = Array(object.url.utf8)
        unreadableReason = nil
        remote = object
    }
}

extension InputFile: SystemPath {
    /// The path as the file system has it, as a C string.
    package func withSystemPath<Result>(_ body: (UnsafePointer<CChar>) -> Result) -> Result {
        fileSystemPath.withSystemPath(body)
    }
}

/// Which files of a directory walk are read (`run --include`, `--exclude`,
/// `--follow-symlinks`). Files and folders named on the command line are always read.
public struct WalkOptions: Sendable, Equatable {
    /// Only walked files matching one of these globs are read (all, when empty).
    public var includes: [String] = []
    /// Walked files matching one of these globs are left out.
    public var excludes: [String] = []
    /// Read what symbolic links under a named folder point to (each folder once).
    public var followSymlinks = false

    public init(includes: [String] = [], excludes: [String] = [], followSymlinks: Bool = false) {
        self.includes = includes
        self.excludes = excludes
        self.followSymlinks = followSymlinks
    }

    /// Whether a walked file is read: `relativePath` is its path below the folder named
    /// on the command line. A glob without `/` is matched against the file's name, one
    /// with `/` against the relative path (`*` then stays within one folder), as
    /// fnmatch(3) matches them.
    func admits(relativePath: [UInt8], name: [UInt8]) -> Bool {
        func matches(_ glob: String) -> Bool {
            let subject = glob.utf8.contains(0x2F) ? relativePath : name
            return FileSystem.matches(glob: glob, subject, slashesMustMatch: glob.utf8.contains(0x2F))
        }
        if !includes.isEmpty && !includes.contains(where: matches) { return false }
        return !excludes.contains(where: matches)
    }
}

/// The inputs a command line names, and what the directory walks left out, so that
/// the run's summary can say so.
public struct Discovery: Sendable {
    /// What to read, in reading order.
    public var inputs: [InputFile] = []
    /// Hidden files and folders (names starting with `.`, such as `.DS_Store`) under
    /// the folders named: not read, and not walked into.
    public var hidden: [String] = []
    /// Symbolic links under the folders named, not followed (without `--follow-symlinks`).
    public var symbolicLinks: [String] = []
    /// Files `--include`/`--exclude` left out.
    public var excluded: [String] = []
    /// With `--follow-symlinks`: links to a folder the walk had entered already (a
    /// cycle, or two links to one folder), and links that point nowhere.
    public var loops: [String] = []
    public var brokenLinks: [String] = []
}

/// Expands the command line's arguments into the inputs to read, in the contract's
/// order: arguments as given; a directory's regular files, recursively, sorted bytewise
/// by path (so Segment's `<source>/<received-day>/…` folders read chronologically).
/// A path that does not exist or cannot be listed is still an input: reading it fails,
/// which the contract makes a fault of that input, not an error of the run. Names are
/// handled as bytes, so a file whose name is not UTF-8 is still read.
///
/// Under a folder named, hidden entries (a name starting with `.`) are skipped, and
/// so are symbolic links unless `followSymlinks`; `--include`/`--exclude` select the
/// rest. Each is counted in the ``Discovery`` for the summary.
///
/// An argument `remote` names (`s3://BUCKET/PREFIX`) is listed there: a full key is one
/// input, a prefix ending in `/` (or a name that is a folder) is walked like a
/// directory, keys in bytewise order, the same rules choosing among them. A listing that
/// fails throws: nothing is read.
public enum InputDiscovery {
    public static func inputs(
        for arguments: [String], options: WalkOptions = WalkOptions(), remote: (any RemoteInputSource)? = nil
    ) throws(RemoteReadError) -> Discovery {
        var discovery = Discovery()
        for argument in arguments {
            if let remote, remote.names(argument) {
                add(try remote.list(argument), options: options, to: &discovery)
                continue
            }
            let input = InputFile(path: argument)
            if argument != "-", let folder = directoryIdentity(input) {
                var walk = Walk(options: options, visited: [folder])
                walk.walk(input.fileSystemPath)
                discovery.inputs += walk.files.sorted { $0.fileSystemPath.lexicographicallyPrecedes($1.fileSystemPath) }
                discovery.hidden += walk.found.hidden
                discovery.symbolicLinks += walk.found.symbolicLinks
                discovery.excluded += walk.found.excluded
                discovery.loops += walk.found.loops
                discovery.brokenLinks += walk.found.brokenLinks
            } else {
                // A named file is read even if it is a FIFO or device: the user asked for it.
                discovery.inputs.append(input)
            }
        }
        return discovery
    }

    /// A listing's objects as inputs: those walked as a folder pass the walk's rules
    /// (hidden names skipped, `--include`/`--exclude`), as files under a directory do.
    private static func add(_ listing: RemoteListing, options: WalkOptions, to discovery: inout Discovery) {
        for (object, relative) in zip(listing.objects, listing.relativePaths) {
            guard let relative else {
                discovery.inputs.append(InputFile(remote: object))
                continue
            }
            let relativeBytes = Array(relative.utf8)
            let components = relativeBytes.split(separator: 0x2F, omittingEmptySubsequences: false)
            if let hidden = components.firstIndex(where: { $0.first == 0x2E }) {
                // Named once, as a walk names a hidden folder it does not enter.
                let base = Array(object.url.utf8.dropLast(relativeBytes.count))
                let name = String(decoding: base + Array(components[...hidden].joined(separator: [0x2F])), as: UTF8.self)
                if discovery.hidden.last != name { discovery.hidden.append(name) }
            } else if !options.admits(relativePath: relativeBytes, name: Array(components.last ?? [])) {
                discovery.excluded.append(object.url)
            } else {
                discovery.inputs.append(InputFile(remote: object))
            }
        }
    }

    struct FolderIdentity: Hashable { var device: UInt64; var inode: UInt64 }

    /// The folder's device and inode (symbolic links followed), or nil for anything else.
    static func directoryIdentity(_ input: InputFile) -> FolderIdentity? {
        guard let status = try? FileSystem.status(of: input), status.kind == .directory else { return nil }
        return FolderIdentity(device: status.device, inode: status.inode)
    }

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
