#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One input to read: a file, or standard input.
public struct InputFile: Sendable, Equatable {
    /// The path as reached from the command-line argument (the argument joined with the
    /// path walked below it); `-` for standard input. Records carry it as `source.file`;
    /// bytes of a file name that are not UTF-8 show as U+FFFD here.
    public let path: String
    /// The path's bytes as the file system has them: what is opened.
    public let fileSystemPath: [UInt8]
    /// Why the input cannot be read, when that is known before opening it
    /// (a directory that cannot be listed). Reported as a fault, like a failed open.
    public let unreadableReason: String?

    public var isStandardInput: Bool { fileSystemPath == [0x2D] }

    public init(path: String, unreadableReason: String? = nil) {
        self.init(fileSystemPath: Array(path.utf8), unreadableReason: unreadableReason)
    }

    public init(fileSystemPath: [UInt8], unreadableReason: String? = nil) {
        self.fileSystemPath = fileSystemPath
        self.path = String(decoding: fileSystemPath, as: UTF8.self)
        self.unreadableReason = unreadableReason
    }

    /// Calls `body` with the path as a C string.
    func withCPath<R>(_ body: (UnsafePointer<CChar>) -> R) -> R {
        (fileSystemPath + [0]).withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }
}

/// Expands the command line's arguments into the inputs to read, in the contract's
/// order: arguments as given; a directory's regular files, recursively, sorted bytewise
/// by path (so Segment's `<source>/<received-day>/…` folders read chronologically).
/// A path that does not exist or cannot be listed is still an input: reading it fails,
/// which the contract makes a fault of that input, not an error of the run. Names are
/// handled as bytes, so a file whose name is not UTF-8 is still read.
public enum InputDiscovery {
    public static func inputs(for arguments: [String]) -> [InputFile] {
        var inputs: [InputFile] = []
        for argument in arguments {
            let input = InputFile(path: argument)
            if argument != "-" && isDirectory(input) {
                inputs += regularFiles(under: input.fileSystemPath)
                    .sorted { $0.fileSystemPath.lexicographicallyPrecedes($1.fileSystemPath) }
            } else {
                // A named file is read even if it is a FIFO or device: the user asked for it.
                inputs.append(input)
            }
        }
        return inputs
    }

    private static func isDirectory(_ input: InputFile) -> Bool {
        var info = stat()
        return input.withCPath { stat($0, &info) } == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    private static func regularFiles(under directory: [UInt8]) -> [InputFile] {
        let folder = InputFile(fileSystemPath: directory)
        guard let handle = folder.withCPath({ opendir($0) }) else {
            return [InputFile(fileSystemPath: directory,
                              unreadableReason: "cannot list the directory: \(String(cString: strerror(errno)))")]
        }
        defer { closedir(handle) }
        let prefix = directory.last == 0x2F ? directory : directory + [0x2F]
        var files: [InputFile] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            let child = InputFile(fileSystemPath: prefix + name)
            var info = stat()
            guard child.withCPath({ lstat($0, &info) }) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFREG: files.append(child)
            case S_IFDIR: files += regularFiles(under: child.fileSystemPath)
            default: continue  // symlinks, sockets, devices: only regular files are read
            }
        }
        return files
    }
}
