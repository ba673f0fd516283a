import Foundation

/// One input to read: a file, or standard input.
public struct InputFile: Sendable, Equatable {
    /// The path as reached from the command-line argument (the argument joined with the
    /// path walked below it); `-` for standard input. Records carry it as `source.file`.
    public let path: String

    /// Why the input cannot be read, when that is known before opening it
    /// (a directory that cannot be listed). Reported as a fault, like a failed open.
    public let unreadableReason: String?

    public var isStandardInput: Bool { path == "-" }

    public init(path: String, unreadableReason: String? = nil) {
        self.path = path
        self.unreadableReason = unreadableReason
    }
}

/// Expands the command line's arguments into the inputs to read, in the contract's
/// order: arguments as given; a directory's regular files, recursively, sorted bytewise
/// by path (so Segment's `<source>/<received-day>/…` folders read chronologically).
/// A path that does not exist or cannot be listed is still an input: reading it fails,
/// which the contract makes a fault of that input, not an error of the run.
public enum InputDiscovery {
    public static func inputs(for arguments: [String]) -> [InputFile] {
        var inputs: [InputFile] = []
        for argument in arguments {
            if argument == "-" {
                inputs.append(InputFile(path: "-"))
                continue
            }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory), isDirectory.boolValue {
                inputs += regularFiles(under: argument)
                    .sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
            } else {
                // A named file is read even if it is a FIFO or device: the user asked for it.
                inputs.append(InputFile(path: argument))
            }
        }
        return inputs
    }

    private static func regularFiles(under directory: String) -> [InputFile] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            return [InputFile(path: directory, unreadableReason: "cannot list the directory")]
        }
        var files: [InputFile] = []
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        for name in names {
            let path = prefix + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFREG: files.append(InputFile(path: path))
            case S_IFDIR: files += regularFiles(under: path)
            default: continue  // symlinks, sockets, devices: only regular files are read
            }
        }
        return files
    }
}
