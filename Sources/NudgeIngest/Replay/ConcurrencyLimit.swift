import NudgeCore

/// How many requests `replay` keeps in flight: additive increase, multiplicative
/// decrease (AIMD), as TCP does for its window. It starts small, doubles per round
/// trip while answers are clean and fast (slow start), then grows by one request per
/// round trip; a congestion signal (429, 503, a timeout) halves it, at most once per
/// round trip. It never exceeds the ceiling (`--concurrency`) nor drops below one.
package struct ConcurrencyLimit: Sendable, Equatable {
    /// The most requests in flight (`--concurrency`, default 32).
    package let ceiling: Int
    /// Hold the limit at the ceiling (`--fixed-concurrency`): for measurements, and for
    /// an API whose operator asked for a fixed number of connections.
    package let fixed: Bool
    private var window: Double
    private var slowStartThreshold: Double
    /// When the last cut happened: a congestion answer to a request sent before it
    /// reports the same congestion and does not cut again.
    private var lastCutAt = -Double.infinity
    /// The fastest answer seen: "fast" means within twice that plus 50 ms, so that the
    /// limit stops growing once the server starts to queue.
    private var fastestLatency = Double.infinity

    /// - Parameters:
    ///   - ceiling: the most requests in flight, at least 1.
    ///   - initial: where the limit starts (default 4, or the ceiling when lower).
    package init(ceiling: Int, initial: Int = 4, fixed: Bool = false) {
        self.ceiling = max(ceiling, 1)
        self.fixed = fixed
        window = fixed ? Double(self.ceiling) : Double(min(max(initial, 1), self.ceiling))
        slowStartThreshold = Double(self.ceiling)
    }

    /// Requests that may be in flight now.
    package var current: Int { Int(window) }

    /// A 2xx (or any answer that is not congestion) came back after `latency` seconds.
    package mutating func answered(latency: Double) {
        fastestLatency = min(fastestLatency, latency)
        guard !fixed, latency <= fastestLatency * 2 + 0.05 else { return }
        window += window < slowStartThreshold ? 1 : 1 / window
        window = min(window, Double(ceiling))
    }

    /// The server pushed back (429, 503, a timeout) on a request sent at `sentAt`.
    package mutating func congested(sentAt: Double, now: Double) {
        guard !fixed, sentAt >= lastCutAt else { return }
        window = max(1, (window / 2).rounded(.down))
        slowStartThreshold = window
        lastCutAt = now
    }
}
