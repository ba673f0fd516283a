/// Where a replay stands, for a progress line (`NudgeRendering` writes it).
package struct ReplayProgress: Sendable {
    /// Records answered (acknowledged or rejected) by this replay, of `total` to send.
    package var answered: Int
    package var total: Int
    package var rejected: Int
    package var inFlight: Int
    package var concurrency: Int
    package var retries: Int
    package var elapsedSeconds: Double

    /// The last answer that was not an acknowledgement (`HTTP 503`, `connection refused`).
    package var lastProblem: String?
}
