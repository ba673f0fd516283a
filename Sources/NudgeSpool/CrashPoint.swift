import NudgeCore
import NudgeSystem

/// Test instrumentation: named instants of the commit protocol where the process can
/// be made to kill itself (`SIGKILL`, as `kill -9` would), so that the durability tests
/// hit every step deterministically, not only where random kills happen to land.
///
/// Armed by the environment: `NUDGE_INGEST_CRASH_AT=<point>@<commit>`, e.g.
/// `renamed@3`. Unset (always, outside tests), each check is one comparison.
package enum CrashPoint: String, CaseIterable {
    /// The commit's spool files and journal are written and synced, not yet renamed.
    case synced
    /// They are renamed into place; the ledger does not list the commit yet.
    case renamed
    /// Half of the commit's ledger line is written.
    case ledgerHalfWritten = "ledger-half"
    /// The commit is complete (for a redrive: its ledger line is written, the dropped
    /// files it rewrote are still under their hidden names).
    case committed
    /// A redrive has put the first of its rewritten dropped files in place.
    case replacedOne = "replaced-one"
    /// A requeue's rewritten rejected spool is synced under its hidden name; the
    /// checkpoint does not name it yet. (Its "commit" is the spool's requeued total
    /// after that requeue.)
    case requeueWritten = "requeue-written"
    /// The checkpoint naming the rewrite is saved; the rename has not happened.
    case requeueCommitted = "requeue-committed"
    /// A replay switching destinations has kept the current checkpoint apart; its
    /// rejected spool has not followed it yet. (Its "commit" is 0.)
    case destinationKept = "destination-kept"
    /// The destination switched to has its rejected spool back; its checkpoint is
    /// still kept apart. (Its "commit" is 0.)
    case destinationRestoring = "destination-restoring"
    /// A new snapshot is written and synced, not yet renamed.
    case snapshotSynced = "snapshot-synced"
    /// The new snapshot is in place; the journals it replaces are not removed yet.
    case snapshotRenamed = "snapshot-renamed"
    /// A new run of saved message ids is synced, not yet renamed. (Its "commit" is the
    /// last commit the run holds.)
    case idsRunSynced = "ids-run-synced"
    /// Two runs' merge is in place; the two runs are not removed yet.
    case idsMerged = "ids-merged"

    private static let armed: (point: String, commit: Int)? = {
        guard let value = CurrentProcess.environment("NUDGE_INGEST_CRASH_AT"),
              let at = value.firstIndex(of: "@"), let commit = Int(value[value.index(after: at)...])
        else { return nil }
        return (String(value[..<at]), commit)
    }()

    static func isArmed(_ point: CrashPoint, commit: Int) -> Bool {
        guard let armed else { return false }
        return armed.commit == commit && armed.point == point.rawValue
    }

    /// Kills the process if this point of `commit` is armed.
    package static func reach(_ point: CrashPoint, commit: Int) {
        if isArmed(point, commit: commit) { CurrentProcess.killImmediately() }
    }
}
