/// Where a replay stands, for a progress line (`NudgeRendering` writes it).
public struct ReplayProgress: Sendable {
    /// Records answered (acknowledged or rejected) by this replay, of `total` to send.
    public var answered: Int
    /// Records still to deliver when the replay started.
    public var total: Int
    /// Records this replay wrote to the rejected spool.
    public var rejected: Int
    package var inFlight: Int
    package var concurrency: Int
    package var retries: Int
    /// Seconds since the replay started.
    public var elapsedSeconds: Double

    /// The last answer that was not an acknowledgement (`HTTP 503`, `connection refused`).
    public var lastProblem: String?
}
