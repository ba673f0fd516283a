import NudgeSpool
import NudgeSystem
import Synchronization

/// The last whole-spool report of one spool, made again only when the ledger has
/// committed something since: `serve` answers `GET /v1/report` and the dashboard from
/// it, where reading every dropped file again at each request would take seconds on a
/// spool of millions of records.
///
/// What the report counts from the dropped spool changes only with a commit (a `run`'s
/// or a `redrive`'s), and every commit changes the ledger's last commit or its list of
/// committed dropped files; the replay's counts change without one, so they are read
/// again at every request. Callers that ask while the report is being made wait for
/// that one rather than reading the spool again beside it.
public final class AuditReportCache: Sendable {
    public let spool: String
    private let last = Mutex<Made?>(nil)

    private struct Made: Sendable {
        var lastCommit: Int
        var droppedFiles: [CommittedFile]
        var report: AuditReport
    }

    public init(spool: String) {
        self.spool = spool
    }

    /// The report of what is committed now: the one made before if nothing was committed
    /// since, else a new one. `elapsedSeconds` is this call's time.
    public func report() throws(AuditError) -> AuditReport {
        let started = MonotonicClock.now
        let ledger: Ledger
        do { ledger = try Ledger.committed(inSpool: spool) } catch { throw .spool(error) }
        var report = try last.withLock { (made) throws(AuditError) -> AuditReport in
            if let made, made.lastCommit == ledger.lastCommit, made.droppedFiles == ledger.droppedFiles {
                return made.report
            }
            let report = try AuditReport.make(spool: spool, ledger: ledger)
            made = Made(lastCommit: ledger.lastCommit, droppedFiles: ledger.droppedFiles, report: report)
            return report
        }
        do { report.replay = try AuditReport.ReplayCounts.read(spool: spool) } catch { throw .spool(error) }
        report.elapsedSeconds = MonotonicClock.now - started
        return report
    }
}
