import NudgeCore
import NudgeSystem
import Synchronization

/// A spool file a commit vouches for: `accepted/` or `dropped/NNNNNNNN.ndjson` of
/// `commit`, `bytes` long; `replacedBy` names the redrive commit that last rewrote it.
package struct CommittedFile: Sendable, Equatable {
    package var commit: Int
    package var bytes: Int
    package var replacedBy: Int?

    package init(commit: Int, bytes: Int, replacedBy: Int? = nil) {
        self.commit = commit
        self.bytes = bytes
        self.replacedBy = replacedBy
    }
}
