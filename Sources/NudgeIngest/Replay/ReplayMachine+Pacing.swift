extension ReplayMachine {
    /// When the next attempt may start: a `Retry-After` pauses every slot, and
    /// `--max-rps` spaces the starts.
    struct Pacing: Sendable {
        /// Seconds between starts (0: no cap).
        let interval: Double
        /// No attempt starts before this.
        private var pausedUntil = -Double.infinity
        /// The rate cap's next free start.
        private var nextStartAt = -Double.infinity

        init(requestsPerSecond: Double?) {
            interval = requestsPerSecond.map { 1 / $0 } ?? 0
        }

        /// Nothing starts before `instant` (an earlier pause still ends later).
        mutating func pause(until instant: Double) {
            pausedUntil = max(pausedUntil, instant)
        }

        /// When an attempt may start, if not `now`.
        func blocked(now: Double) -> Double? {
            if now < pausedUntil { return pausedUntil }
            if now < nextStartAt { return nextStartAt }
            return nil
        }

        /// An attempt started `now`: the next may start one interval later.
        mutating func started(now: Double) {
            if interval > 0 { nextStartAt = max(now, nextStartAt) + interval }
        }
    }
}
