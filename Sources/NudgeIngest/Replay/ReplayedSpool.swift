import NudgeSpool

/// The spool a checkpoint counts the records of: the accepted records are numbered from
/// 0 in spool order, so a checkpoint means nothing for a spool that was started over.
package struct ReplayedSpool: Sendable, Equatable {
    /// When the spool's first commit was made (the ledger's commit 1): a spool that was
    /// removed and made again has another.
    package var firstCommitAt: String
    /// Accepted records the spool held when the checkpoint was saved: it never shrinks.
    package var acceptedRecords: Int

    package init(firstCommitAt: String, acceptedRecords: Int) {
        self.firstCommitAt = firstCommitAt
        self.acceptedRecords = acceptedRecords
    }

    init(ledger: Ledger) {
        self.init(firstCommitAt: ledger.entries.first?.committedAt ?? "", acceptedRecords: ledger.acceptedRecordCount)
    }
}
