/// An input read as it came (standard input, a FIFO, an S3 object) whose first bytes
/// were those of a format `run` does not read: not committed.
public struct RefusedInput: Sendable, Equatable {
    public var path: String
    public var format: RefusedFormat

    /// What it is and what to do.
    public var message: String {
        InputError.Problem.refusedFormat(path: path, format: format, walked: false).message
    }
}
