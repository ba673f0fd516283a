import NudgeCore
import NudgeSystem

/// What came back: a status and (bounded) body, or the reason there was none.
public struct HTTPAnswer: Sendable, Equatable {
    package var status: Int?
    package var retryAfter: String?
    /// The first ``bodyLimit`` bytes of the response body (for the rejected spool).
    package var body: [UInt8] = []
    /// No answer: a timeout or a connection error, for a person (never holds the key).
    package var failure: String?
    /// No answer came within the request timeout (a congestion signal).
    package var timedOut: Bool
    /// No connection could be made at all: refused, no such host, or a TLS handshake
    /// that failed. Before the destination has ever answered, that is a wrong
    /// `--endpoint` (or a service that is down), not a fault worth retrying.
    package var unreachable: Bool
    /// When it arrived, in Unix seconds: what an HTTP-date `Retry-After` is counted from.
    package var receivedAt: Double

    /// Bytes of a response body kept.
    package static let bodyLimit = 2048

    /// An answer with HTTP `status`, or none (`status` nil, `failure` saying why);
    /// `receivedAt` is in Unix seconds, now by default.
    public init(status: Int?, retryAfter: String? = nil, body: [UInt8] = [], failure: String? = nil, timedOut: Bool = false,
                unreachable: Bool = false, receivedAt: Double? = nil) {
        self.status = status
        self.retryAfter = retryAfter
        self.body = body
        self.failure = failure
        self.timedOut = timedOut
        self.unreachable = unreachable
        self.receivedAt = receivedAt ?? Timestamp.now.secondsSinceEpoch
    }
}
