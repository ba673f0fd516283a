/// Where a replay stands, for a progress line (`NudgeRendering` writes it).
public struct ReplayProgress: Sendable {
    /// Records answered (acknowledged or rejected) by this replay, of `total` to send.
    public var answered: Int
    public var total: Int
    public var rejected: Int
    public var inFlight: Int
    public var concurrency: Int
    public var retries: Int
    public var elapsedSeconds: Double

    /// The last answer that was not an acknowledgement (`HTTP 503`, `connection refused`).
    public var lastProblem: String?
}
