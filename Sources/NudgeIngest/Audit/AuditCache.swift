import NudgeSpool
import NudgeSystem
import Synchronization

/// The last whole-spool report and collisions list of one spool, each made again only
/// when the ledger has committed something since: `serve` answers `GET /v1/report`,
/// `GET /v1/collisions` and the dashboard from them, where reading every dropped file
/// and the identity state again at each request would take seconds on a spool of
/// millions of records.
///
/// What they count from the dropped spool and the identity state changes only with a
/// commit (a `run`'s or a `redrive`'s), and every commit moves the ledger's last commit
/// on (its committed dropped files are compared too, so that another spool put at the
/// same path is not taken for this one); the replay's counts change without a commit,
/// so they are read again at every request. Callers that ask while one is being
/// made wait for it rather than reading the spool again beside it.
package final class AuditCache: Sendable {
    package let spool: String
    private let keptReport = Mutex<Kept<AuditReport>?>(nil)
    private let keptCollisions = Mutex<Kept<UserIDCollisions>?>(nil)

    /// What the ledger has committed, as far as the kept values depend on it.
    private struct Commits: Equatable, Sendable {
        var lastCommit: Int
        var droppedFiles: [CommittedFile]
    }

    private struct Kept<Value: Sendable>: Sendable {
        var commits: Commits
        var value: Value
    }

    package init(spool: String) {
        self.spool = spool
    }

    /// The report of what is committed now: the one made before if nothing was committed
    /// since, else a new one. `elapsedSeconds` is this call's time.
    package func report() throws(AuditError) -> AuditReport {
        let started = MonotonicClock.now
        let ledger = try Self.ledger(spool)
        var report = try kept(in: keptReport, ledger) { () throws(AuditError) in
            try AuditReport.make(spool: spool, ledger: ledger)
        }
        do { report.replay = try AuditReport.ReplayCounts.read(spool: spool) } catch { throw .spool(error) }
        report.elapsedSeconds = MonotonicClock.now - started
        return report
    }

    /// The user-id collisions of what is committed now, kept as the report is.
    package func userIDCollisions() throws(AuditError) -> UserIDCollisions {
        try kept(in: keptCollisions, try Self.ledger(spool)) { () throws(AuditError) in
            do throws(SpoolError) { return try UserIDCollisions.make(spool: spool) } catch { throw .spool(error) }
        }
    }

    private static func ledger(_ spool: String) throws(AuditError) -> Ledger {
        do { return try Ledger.committed(inSpool: spool) } catch { throw .spool(error) }
    }

    private func kept<Value: Sendable>(
        in slot: borrowing Mutex<Kept<Value>?>, _ ledger: Ledger, make: () throws(AuditError) -> Value
    ) throws(AuditError) -> Value {
        let commits = Commits(lastCommit: ledger.lastCommit, droppedFiles: ledger.droppedFiles)
        return try slot.withLock { (kept) throws(AuditError) -> Value in
            if let kept, kept.commits == commits { return kept.value }
            let value = try make()
            kept = Kept(commits: commits, value: value)
            return value
        }
    }
}
