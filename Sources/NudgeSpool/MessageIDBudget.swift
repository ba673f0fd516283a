import NudgeSystem

/// The memory a run gives the `messageId` state: the ids of recent commits, exact in a
/// table, and one filter over the runs of saved ids on disk (`run --memory`).
///
/// A quarter of the budget holds recent ids (16-byte slots, three quarters full); when
/// a commit leaves more than that, they are saved as a run. The rest holds the filter,
/// at up to 10 bits an id (about 1 % of lookups of a new id then read the disk). When
/// the ids outgrow it, the filter gets fewer bits and more lookups read the disk:
/// slower, never wrong. The decisions, and so the spools, are the same for any budget.
package struct MessageIDBudget: Sendable, Equatable {
    package var bytes: Int

    package init(bytes: Int) {
        self.bytes = max(0, bytes)
    }

    /// 256 MiB, or a thirty-second of the machine's memory when that is less (at least
    /// 16 MiB): with 10 bits an id, a filter for about 160 million ids.
    package static func `default`(physicalMemory: Int = CurrentProcess.physicalMemory) -> MessageIDBudget {
        MessageIDBudget(bytes: min(256 << 20, max(16 << 20, physicalMemory / 32)))
    }

    /// How many recent ids are kept in memory before they are saved as a run (at least one).
    package var recentIDs: Int { max(1, bytes / 4 / 16 * 3 / 4) }

    /// Bytes for the runs' filter.
    package var filterBytes: Int { bytes - bytes / 4 }

    /// Filter bits an id, when `total` ids are saved: 10, or fewer when they do not fit.
    package func filterBitsPerID(total: Int) -> Double {
        guard total > 0 else { return 10 }
        return min(10, Double(filterBytes) * 8 / Double(total))
    }
}
