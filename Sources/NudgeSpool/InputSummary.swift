import NudgeCore

/// How an input's bytes were stored.
package enum InputFormat: String, Sendable {
    case gzip, plain
}

/// What happened to one input.
package struct InputSummary: Sendable {
    package enum Status: String, Sendable {
        case ok, corrupt, unreadable
    }

    package var path: String
    package var format: InputFormat
    package var bytes: Int
    package var uncompressedBytes: Int
    package var counts: OutcomeCounts
    package var status: Status
    /// For a fault: where and what.
    package var fault: (offset: Int, line: Int, message: String)?

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
