import NudgeCore
import NudgeSpool
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
    package let fileSystemPath: [UInt8]
    /// Why the input cannot be read, when that is known before opening it
    /// (a directory that cannot be listed). Reported as a fault, like a failed open.
    package let unreadableReason: String?
    /// The object, for an input in S3 (read through the run's ``RemoteInputSource``).
    package let remote: RemoteObject?

    package var isStandardInput: Bool { remote == nil && fileSystemPath == [0x2D] }

    /// The size of a regular file, or the listed size of an object; nil for standard
    /// input, a FIFO, a device or a path that cannot be stat-ed (inputs whose size is
    /// unknown, and that cannot be read twice).
    package var regularFileSize: Int? {
        if let remote { return remote.size }
        guard !isStandardInput else { return nil }
        return FileSystem.regularFileSize(fileSystemPath)
    }

    /// A local input at `path` (`-` for standard input); with `unreadableReason`, it is
    /// reported as a fault with that reason instead of being read.
    public init(path: String, unreadableReason: String? = nil) {
        self.init(fileSystemPath: Array(path.utf8), unreadableReason: unreadableReason)
    }

    package init(fileSystemPath: [UInt8], unreadableReason: String? = nil) {
        self.fileSystemPath = fileSystemPath
        self.path = String(decoding: fileSystemPath, as: UTF8.self)
        self.unreadableReason = unreadableReason
        remote = nil
    }

    /// An object in S3: its path is its `s3://` URL.
    package init(remote object: RemoteObject) {
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
