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
    // @unchecked Sendable: `spool` (not Sendable) is used by one thread at a time. The
    // committing thread reads it only while it performs a commit taken from `commits`;
    // meanwhile the sequencer touches neither the commit's writer nor the spool's
    // ledger, which only `perform` changes, until `waitUntilIdle` has returned. `stop`
    // lets it go only once `commits` is finished and idle, when no commit will be
    // performed again; the queue's lock orders the two threads' accesses.
    /// Let go once stopped, so that the spool (and its lock) goes when the run does, not
    /// when the thread is torn down: the next run in this process may lock it at once.
    private var spool: Spool?
    /// The commit handed over and not yet performed: one at a time.
    private let commits = BoundedQueue<Spool.PreparedCommit, Never>(capacity: 1)
    private let state = ConditionLock<(started: Bool, failure: SpoolError?)>((false, nil))

    init(spool: Spool) {
        self.spool = spool
    }

    /// Hands `prepared` over to be performed; the previous commit must be done
    /// (``waitUntilIdle()``).
    func submit(_ prepared: Spool.PreparedCommit) {
        state.withLock { state in
            if !state.started {
                state.started = true
                startThread(named: "ingest-commit") { [self] in performLoop() }
            }
        }
        do {
            try commits.push(prepared)
        } catch {
            preconditionFailure("a committer takes no commits once stopped")
        }
    }

    /// Waits until no commit is in flight, and throws how the last one failed, if it did.
    func waitUntilIdle() throws(SpoolError) {
        commits.waitUntilIdle()
        let failed = state.withLock { state in
            defer { state.failure = nil }
            return state.failure
        }
        if let failed { throw failed }
    }

    /// Lets the commit in flight finish (its failure, if any, is dropped: the caller is
    /// already failing), ends the thread and lets the spool go.
    func stop() {
        commits.finish()
        commits.waitUntilIdle()
        spool = nil
    }

    private func performLoop() {
        while commits.handleNext({ prepared in perform(prepared) }) {}
    }

    private func perform(_ prepared: Spool.PreparedCommit) {
        var failed: SpoolError?
        do { try spool!.perform(prepared) } catch { failed = error }
        state.withLock { state in state.failure = state.failure ?? failed }
    }
}
