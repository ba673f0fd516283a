import NudgeCore
import NudgeSpool

/// Which rejected records `requeue` puts back. Each kind of filter that is given must
/// match; repeated values of one kind are alternatives. No filter: every record.
package struct RequeueFilter: Sendable {
    /// HTTP statuses (`--status`); `identify_rejected` records have none.
    package var statuses: Set<Int> = []
    /// `rejected_by_nudge` or `identify_rejected` (`--reason`).
    package var reasons: Set<String> = []
    /// ext_ids (`--user`).
    package var users: Set<String> = []

    package init() {}

    func matches(_ line: RejectedLine) -> Bool {
        (statuses.isEmpty || line.status.map { statuses.contains($0) } == true)
            && (reasons.isEmpty || reasons.contains(line.reason))
            && (users.isEmpty || users.contains(line.extID))
    }
}
