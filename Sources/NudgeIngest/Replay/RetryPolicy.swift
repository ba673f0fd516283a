import NudgeCore

/// How `replay` reads an answer, how long it waits before trying again, and when it
/// gives up. The statuses follow Segment's own client for the Nudge destination: the
/// ones it retries are retried here; an answer that judges a record rejects it; an
/// answer that says the operator's setup is wrong stops the replay before it consumes
/// anything.
package struct RetryPolicy: Sendable {
    /// Attempts per request, the first included (`--max-attempts`, default 8).
    package var maxAttempts = 8
    /// Time from a request's first attempt after which it is not retried again
    /// (`--max-retry-seconds`, default 600).
    package var maxTotalSeconds = 600.0
    /// The first backoff; each retry doubles it, up to `maxDelaySeconds`.
    package var baseDelaySeconds = 0.5
    package var maxDelaySeconds = 30.0

    package init() {}

    /// What an answer means for the records a request carried.
    package enum Verdict: Sendable, Equatable {
        /// 2xx: delivered.
        case acknowledged
        /// 408, 423, 429, 5xx but 501 and 505, a timeout or a broken connection: worth
        /// another attempt. `congested` (429, 503, a timeout) also cuts the number of
        /// requests in flight.
        case transient(congested: Bool)
        /// 400, 409, 410, 422: Nudge judged the records; they go to the rejected spool.
        case rejected
        /// 413: the body is too large; a batch is split, a single record rejected.
        case payloadTooLarge
        /// 401, 403: the API key was refused. Stops the replay; nothing is consumed.
        case keyRefused
        /// 404, 405: a wrong `--endpoint` while nothing sent to that route has been
        /// acknowledged yet (the replay stops); a transient fault after that.
        case routeNotFound
        /// Anything else (a redirect, 501, 505, 407, 415, …): not a judgement of the
        /// records, and not a fault a retry mends. Stops the replay; nothing is consumed.
        case unexpected
    }

    /// The verdict on an answer: `status` nil means no answer arrived (`timedOut` tells
    /// a timeout from a broken connection).
    package static func verdict(status: Int?, timedOut: Bool = false) -> Verdict {
        guard let status else { return .transient(congested: timedOut) }
        switch status {
        case 200..<300: return .acknowledged
        case 408, 423, 429, 500, 502, 503, 504, 506..<600: return .transient(congested: status == 429 || status == 503)
        case 400, 409, 410, 422: return .rejected
        case 413: return .payloadTooLarge
        case 401, 403: return .keyRefused
        case 404, 405: return .routeNotFound
        default: return .unexpected
        }
    }

    /// The wait before attempt `attempt + 1` (after `attempt` failures, from 1): the
    /// server's `Retry-After` when it gave one, else exponential backoff with full
    /// jitter (a uniform draw between 0 and the doubled delay), so that many clients
    /// do not retry in step.
    package func delay(afterAttempt attempt: Int, retryAfter: Double?, random: Double) -> Double {
        if let retryAfter { return min(max(retryAfter, 0), maxTotalSeconds) }
        let ceiling = min(baseDelaySeconds * Double(1 << min(attempt - 1, 20)), maxDelaySeconds)
        return ceiling * random
    }

    /// Whether to try again after `attempt` attempts and `elapsed` seconds, with a
    /// wait of `delay` ahead.
    package func shouldRetry(afterAttempt attempt: Int, elapsed: Double, delay: Double) -> Bool {
        attempt < maxAttempts && elapsed + delay <= maxTotalSeconds
    }

    /// `Retry-After` as seconds from `now` (Unix seconds): a number of seconds, or an
    /// HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`). Nil when it is neither.
    package static func retryAfterSeconds(_ value: String, now: Double) -> Double? {
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
