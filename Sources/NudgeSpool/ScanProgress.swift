import NudgeCore
import NudgeSystem

/// How far a read of the dropped spool has got, for a progress line: `audit`, `audit
/// list` and `redrive` read it whole, which takes seconds on a year of drops. The
/// threads reading it add what they read; ``show`` is called at most five times a
/// second, on whichever thread crossed the interval.
public final class ScanProgress: Sendable {
    /// Called with the share read (0–1) and, once it can be estimated, the seconds left.
    public typealias Show = @Sendable (_ fraction: Double, _ secondsLeft: Double?) -> Void

    private struct State {
        var done = 0
        var total = 0
        var lastShown = 0.0
    }

    private let state = ConditionLock(State())
    private let started = MonotonicClock.now
    private let show: Show

    /// Reports the read through `show`, at most five times a second.
    public init(show: @escaping Show) {
        self.show = show
    }

    /// Sets the bytes the read will cover.
    package func begin(totalBytes: Int) {
        state.withLock { $0.total = totalBytes }
    }

    /// Counts `bytes` more read.
    func advance(by bytes: Int) {
        let now = MonotonicClock.now
        let due: (Double, Double?)? = state.withLock { state in
            state.done += bytes
            guard now - state.lastShown >= 0.2, state.total > 0 else { return nil }
            state.lastShown = now
            let fraction = min(Double(state.done) / Double(state.total), 1)
            let elapsed = now - started
            return (fraction, fraction > 0.01 && elapsed >= 1 ? elapsed * (1 - fraction) / fraction : nil)
        }
        if let (fraction, left) = due { show(fraction, left) }
    }
}
