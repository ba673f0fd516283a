import NudgeCore

/// How an input's bytes were stored.
public enum InputFormat: String, Sendable {
    case gzip, plain
}

/// What happened to one input.
public struct InputSummary: Sendable {
    /// How reading the input ended: `ok` read whole, `corrupt` a bad gzip stream,
    /// `unreadable` not opened or not read.
    public enum Status: String, Sendable {
        case ok, corrupt, unreadable
    }

    /// The input path as reached from the command line (`source.file` in the spools);
    /// `-` for standard input.
    public var path: String
    /// `gzip` when it starts with the gzip magic bytes, else `plain`.
    public var format: InputFormat
    /// The input's size as read (the compressed size for gzip).
    public var bytes: Int
    /// Bytes of the decompressed stream read (equal to `bytes` for plain input).
    public var uncompressedBytes: Int
    /// What became of its records; its fault, if any, is counted under `corrupt_input`.
    public var counts: OutcomeCounts
    /// Whether it was read whole; when not, `fault` says where and why.
    public var status: Status
    /// For a fault: where and what.
    public var fault: (offset: Int, line: Int, message: String)?

    package init(path: String, format: InputFormat, bytes: Int, uncompressedBytes: Int, counts: OutcomeCounts, status: Status, fault: (offset: Int, line: Int, message: String)? = nil) {
        self.path = path
        self.format = format
        self.bytes = bytes
        self.uncompressedBytes = uncompressedBytes
        self.counts = counts
        self.status = status
        self.fault = fault
    }
}
