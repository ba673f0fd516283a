import NudgeCore
import NudgeSystem

/// What a run asked of the remote store, for its summary: how often the network failed
/// and was got round.
package struct RemoteRequestCounts: Sendable, Equatable {
    /// Requests sent: listing pages and object reads, every attempt counted.
    package var requests = 0
    /// Attempts after a failure (a 500, a 503 SlowDown, a dropped connection).
    package var retries = 0
    /// Of those, object reads resumed from the last byte received (a ranged GET).
    package var resumes = 0
    /// Object bytes received.
    package var bytes = 0

    package init(requests: Int = 0, retries: Int = 0, resumes: Int = 0, bytes: Int = 0) {
        (self.requests, self.retries, self.resumes, self.bytes) = (requests, retries, resumes, bytes)
    }
}
