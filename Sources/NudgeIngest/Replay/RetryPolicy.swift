#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How `replay` answers a failed attempt: which failures are retried, how long it
/// waits, and when it gives up.
public struct RetryPolicy: Sendable {
    /// Attempts per request, the first included (`--max-attempts`, default 8).
    public var maxAttempts = 8
    /// Time from a request's first attempt after which it is not retried again
    /// (`--max-retry-seconds`, default 600).
    public var maxTotalSeconds = 600.0
    /// The first backoff; each retry doubles it, up to `maxDelaySeconds`.
    public var baseDelaySeconds = 0.5
    public var maxDelaySeconds = 30.0

    public init() {}

    /// What an answer means.
    public enum Verdict: Sendable, Equatable {
        case acknowledged
        /// 429, 5xx, a timeout or a broken connection: worth another attempt.
        case transient
        /// Any other status: the records are rejected.
        case permanent
    }

    public static func verdict(status: Int?) -> Verdict {
        guard let status else { return .transient }
        switch status {
        case 200..<300: return .acknowledged
        case 408, 429, 500..<600: return .transient
        default: return .permanent
        }
    }

    /// The wait before attempt `attempt + 1` (after `attempt` failures, from 1): the
    /// server's `Retry-After` when it gave one, else exponential backoff with full
    /// jitter (a uniform draw between 0 and the doubled delay), so that many clients
    /// do not retry in step.
    public func delay(afterAttempt attempt: Int, retryAfter: Double?, random: Double) -> Double {
        if let retryAfter { return min(max(retryAfter, 0), maxTotalSeconds) }
        let ceiling = min(baseDelaySeconds * Double(1 << min(attempt - 1, 20)), maxDelaySeconds)
        return ceiling * random
    }

    /// Whether to try again after `attempt` attempts and `elapsed` seconds, with a
    /// wait of `delay` ahead.
    public func shouldRetry(afterAttempt attempt: Int, elapsed: Double, delay: Double) -> Bool {
        attempt < maxAttempts && elapsed + delay <= maxTotalSeconds
    }

    /// `Retry-After` as seconds from `now` (Unix seconds): a number of seconds, or an
    /// HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`). Nil when it is neither.
    public static func retryAfterSeconds(_ value: String, now: Double) -> Double? {
        let text = value.trimmingSpaces
        if let seconds = Int(text), seconds >= 0 { return Double(seconds) }
        // IMF-fixdate, the form HTTP/1.1 servers send.
        let parts = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]),
              let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3]) else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3 else { return nil }
        let iso = String(year).leftPadded(to: 4) + "-" + String(month + 1).leftPadded(to: 2) + "-"
            + String(day).leftPadded(to: 2) + "T" + clock.map { String($0).leftPadded(to: 2) }.joined(separator: ":") + "Z"
        var isoText = iso
        guard let instant = isoText.withUTF8({ Timestamp.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        return max(instant.secondsSinceEpoch - now, 0)
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

/// Spaces request starts so that no more than `perSecond` begin in any second
/// (`--max-rps`); shared by every request in flight.
actor RequestPacer {
    private let interval: Double
    private var nextStart = 0.0

    init(perSecond: Double?) {
        interval = perSecond.map { 1 / $0 } ?? 0
    }

    /// Waits for this request's turn.
    func waitForTurn() async {
        guard interval > 0 else { return }
        let now = Clock.now
        let start = max(now, nextStart)
        nextStart = start + interval
        if start > now { try? await Task.sleep(nanoseconds: UInt64((start - now) * 1e9)) }
    }
}
