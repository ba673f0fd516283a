import Glibc
import NudgeCore

/// Monotonic seconds.
package enum MonotonicClock {
    package static var now: Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

extension Timestamp {
    /// The current time (UTC, to the millisecond).
    package static var now: Timestamp {
        var clock = timespec()
        clock_gettime(CLOCK_REALTIME, &clock)
        return Timestamp(millisecondsSinceEpoch: Int64(clock.tv_sec) * 1000 + Int64(clock.tv_nsec) / 1_000_000,
                         hadNumericOffset: false)
    }
}
