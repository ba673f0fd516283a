import NudgeCore
import NudgeSpool
import NudgeSystem

/// An input a run leaves alone because the spool has committed its content already.
public struct SkippedInput: Sendable {
    /// Why an input was left alone.
    public enum Reason: Sendable, Equatable {
        /// Commit `commit` holds this content, read then from `path` (this path or another).
        case committed(commit: Int, path: String)
        /// The run names this file twice; the first is processed.
        case namedTwice
        /// The file is empty (0 bytes: a download not finished yet, a stamp file). It is
        /// not committed, so the complete file is read when it comes.
        case empty
        /// An earlier input of this run, at `path`, has the same bytes (a copy): reading
        /// it twice would accept its records twice.
        case sameContent(path: String)
    }

    /// The input as this run reached it.
    public var path: String
    /// Why it was left alone.
    public var reason: Reason
}
