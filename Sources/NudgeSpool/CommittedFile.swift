import NudgeCore
import NudgeSystem
import Synchronization

/// A spool file a commit vouches for: `accepted/` or `dropped/NNNNNNNN.ndjson.gz` (or
/// `.ndjson`, uncompressed) of `commit`, `bytes` long; `replacedBy` names the redrive
/// commit that last rewrote it.
package struct CommittedFile: Sendable, Equatable {
    package var commit: Int
    package var bytes: Int
    package var replacedBy: Int?
    /// Whether it is a series of ``SpoolMember``s.
    package var compressed: Bool

    package init(commit: Int, bytes: Int, replacedBy: Int? = nil, compressed: Bool) {
        self.commit = commit
        self.bytes = bytes
        self.replacedBy = replacedBy
        self.compressed = compressed
    }

    /// Its name in its folder.
    package var name: String { LedgerEntry.spoolFileName(commit, compressed: compressed) }

    /// The hidden name of its current version while that is not in place yet (see
    /// ``LedgerEntry/replacementFileName(of:compressed:by:)``), when a redrive rewrote it.
    package var replacementName: String? {
        replacedBy.map { LedgerEntry.replacementFileName(of: commit, compressed: compressed, by: $0) }
    }
}
