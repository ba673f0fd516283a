/// What one replay did, for its summary.
package struct ReplayTally: Sendable, Equatable {
    /// Requests started and the records they carried, retries and split batches not
    /// counted again.
    package var requests = 0
    package var sent = 0
    package var acknowledged = 0
    package var rejected = 0
    /// Attempts beyond the first.
    package var retries = 0
    /// The last answer that was not an acknowledgement (`HTTP 503`, `connection
    /// refused`), for the progress line; nil while every answer was clean.
    package var lastProblem: String?
    /// Batches split after a 413.
    package var splits = 0
    /// Seconds from sending to an answer, per attempt.
    package var latencies: [Double] = []
    /// The ceiling the number in flight reached, and where it stands.
    package var peakConcurrency = 0
    package var concurrency = 0
}
