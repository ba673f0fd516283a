/// An input read as it came (standard input, a FIFO, an S3 object) whose first bytes
/// were those of a format `run` does not read: not committed.
public struct RefusedInput: Sendable, Equatable {
    /// The input's path as the run reached it (`-` for standard input, an `s3://` URL for an object).
    public var path: String
    /// The format its first bytes showed.
    public var format: RefusedFormat

    /// What it is and what to do.
    public var message: String {
        InputError.Problem.refusedFormat(path: path, format: format, walked: false).message
    }
}
