import NudgeSpool
import NudgeSystem

/// Performs a run's commits on a thread of its own (`ingest-commit`), one at a time and
/// in order, so that the sequencer decides the next input while the last one's spool
/// files, journal and ledger line are synced. Before, each commit's `fsync`s stopped the
/// sequencer, the batch pool filled and, a quarter of the time, no thread ran
/// (`docs/performance.md`).
///
/// At most one commit is in flight: the sequencer prepares commit N+1 while commit N is
/// performed, and waits for N before handing N+1 over. Commits stay in ledger order, so
/// a kill still leaves every input committed or not, as ``Spool/perform(_:redrive:)``
/// makes each one.
final class Committer: @unchecked Sendable {
    // @unchecked Sendable: `spool`, `pending`, `busy`, `failure`, `stopping` and
    // `running` are touched only while `lock` is held. While a commit is in flight the
    // sequencer touches neither its writer nor the spool's ledger, which only `perform`
    // changes.
    /// Let go once stopped, so that the spool (and its lock) goes when the run does, not
    /// when the thread is torn down: the next run in this process may lock it at once.
    private var spool: Spool?
    private let lock = WaitLock(conditions: 1)
    private var pending: Spool.PreparedCommit?
    private var busy = false
    private var failure: SpoolError?
    private var stopping = false
    private var running = false

    init(spool: Spool) {
        self.spool = spool
    }

    /// Hands `prepared` over to be performed; the previous commit must be done
    /// (``waitUntilIdle()``).
    func submit(_ prepared: Spool.PreparedCommit) {
        lock.lock()
        defer { lock.unlock() }
        precondition(!busy, "one commit in flight at a time")
        if !running {
            running = true
            startThread(named: "ingest-commit") { [self] in performLoop() }
        }
        pending = prepared
        busy = true
        lock.broadcast(0)
    }

    /// Waits until no commit is in flight, and throws how the last one failed, if it did.
    func waitUntilIdle() throws(SpoolError) {
        lock.lock()
        while busy { lock.wait(0) }
        let failed = failure
        failure = nil
        lock.unlock()
        if let failed { throw failed }
    }

    /// Lets the commit in flight finish (its failure, if any, is dropped: the caller is
    /// already failing), ends the thread and lets the spool go.
    func stop() {
        lock.lock()
        while busy { lock.wait(0) }
        stopping = true
        lock.broadcast(0)
        while running { lock.wait(0) }
        spool = nil
        lock.unlock()
    }

    private func performLoop() {
        lock.lock()
        while true {
            while pending == nil && !stopping { lock.wait(0) }
            guard let prepared = pending, let spool else { break }
            pending = nil
            lock.unlock()
            var failed: SpoolError?
            do { try spool.perform(prepared) } catch { failed = error }
            lock.lock()
            failure = failure ?? failed
            busy = false
            lock.broadcast(0)
        }
        running = false
        lock.broadcast(0)
        lock.unlock()
    }
}
