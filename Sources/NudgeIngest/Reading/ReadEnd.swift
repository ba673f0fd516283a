import NudgeCore
import NudgeSpool
import NudgeSystem

/// How reading one input ended.
package enum ReadEnd: Sendable, Equatable {
    /// Every byte was read; every gzip member ended cleanly.
    case complete
    /// The file could not be opened or read.
    case unreadable(String)
    /// The gzip stream is corrupt, truncated or followed by garbage.
    case corrupt(GzipFault)
    /// The remote store failed (unreachable after its retries, credentials refused, the
    /// object changed or gone): not a fault of the input. The run stops before it, with
    /// the input uncommitted.
    case stopped(RemoteReadError)
    /// The input is in a format `run` does not read (zip, bzip2, xz, zstd), known by its
    /// first bytes: nothing of it was handed out, and it is not committed. (A file is
    /// refused before the run; standard input, a FIFO or an S3 object when it is read.)
    case refused(RefusedFormat)
}
