import NudgeCore

/// How an input's bytes were stored.
public enum InputFormat: String, Sendable {
    case gzip, plain
}

/// What happened to one input.
public struct InputSummary: Sendable {
    public enum Status: String, Sendable {
        case ok, corrupt, unreadable
    }

    public var path: String
    public var format: InputFormat
    public var bytes: Int
    public var uncompressedBytes: Int
    public var counts: OutcomeCounts
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
