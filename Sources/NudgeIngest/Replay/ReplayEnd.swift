/// How a replay ended.
public enum ReplayEnd: Sendable, Equatable {
    /// Everything read was acknowledged or rejected.
    case delivered
    /// Ctrl-C: requests in flight were answered (or timed out) and saved.
    case interrupted
    /// The replay stopped early: `exitStatus` 1 for an operator's mistake (nothing
    /// consumed), 2 when retries were spent (run replay again).
    case stopped(reason: String, exitStatus: Int32)
}
