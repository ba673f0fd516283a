import NudgeCore
import NudgeSpool

/// The inputs of one run, each read through the record stage, decided in input order
/// and committed on its own: its records, its changes to the identity state and its
/// ledger entry become durable together.
struct InputCommits {
    /// What became of one input.
    enum Outcome {
        case committed(InputSummary)
        /// Refused for its format, before any line: nothing of it committed.
        case refused(RefusedInput)
        /// Ctrl-C: abandoned, nothing of it committed.
        case interrupted
        /// The remote store failed: nothing of it committed, the next run reads it again.
        case stopped(String)
    }

    let spool: Spool
    let plan: InputPlan
    let committer: Committer
    let records: ParallelRecordStage
    var decider: Decider
    /// Two writers take turns: one receives input N+1's records while the committer
    /// syncs input N's.
    let writers: [SpoolWriter]
    var nextCommit: Int
    /// File bytes of the inputs before the one being read.
    var bytesBefore = 0
    var progress: ProgressReport?

    init(spool: Spool, plan: InputPlan, committer: Committer, records: ParallelRecordStage, decider: Decider,
         writers: [SpoolWriter], progress: ProgressReport?) {
        (self.spool, self.plan, self.committer, self.records, self.decider, self.writers, self.progress) =
            (spool, plan, committer, records, decider, writers, progress)
        nextCommit = spool.ledger.lastCommit + 1
    }

    /// Reads, decides and commits input `index`.
    mutating func process(_ index: Int, stopRequested: () -> Bool) throws(SpoolError) -> Outcome {
        let input = plan.toProcess[index]
        let writer = writers[index % 2]
        try writer.begin(commit: nextCommit)
        let before = decider.counts
        guard let report = try read(index, into: writer, stopRequested: stopRequested) else {
            // Abandoned: the writer's partial files are removed, nothing of it is committed.
            return .interrupted
        }
        var summary = InputSummary(
            path: input.path, format: report.stage.format, bytes: report.stage.bytes,
            uncompressedBytes: report.stage.uncompressedBytes, counts: OutcomeCounts(), status: .ok, fault: nil)
        switch report.stage.end {
        case .complete:
            break
        case .unreadable:
            summary.status = .unreadable
            summary.fault = report.fault
        case .corrupt:
            summary.status = .corrupt
            summary.fault = report.fault
        case .stopped(let failure):
            // Not the input's fault: nothing of it is committed, the next run reads it again.
            return .stopped(failure.message)
        case .refused(let format):
            // Known by its first bytes, before any line: nothing of it to commit.
            writer.discard()
            bytesBefore += plan.sizes[index] ?? 0
            // The next input takes the other writer: the one the committer may still hold.
            try committer.waitUntilIdle()
            return .refused(RefusedInput(path: input.path, format: format))
        }
        if let fault = summary.fault { recordFault(fault, report, index, writer) }
        summary.counts = decider.counts - before
        try commit(index, summary, report.stage, writer)
        bytesBefore += plan.sizes[index] ?? 0
        return .committed(summary)
    }

    /// Decides input `index`'s records into `writer` as the stage hands them over, until
    /// the input ends (its report) or a stop is asked for (nil).
    private mutating func read(
        _ index: Int, into writer: SpoolWriter, stopRequested: () -> Bool
    ) throws(SpoolError) -> ReadReport? {
        let source = records.sources[index]
        while true {
            let batch = records.next(input: index)
            decider.decide(batch.parsed, source: source, accepted: &writer.accepted, dropped: &writer.dropped)
            let (fileBytesRead, end) = (batch.fileBytesRead, batch.end)
            records.recycle(batch)
            try writer.flushIfNeeded()
            if let end { return end }
            if stopRequested() { return nil }
            progress?.update(input: index, fileBytesRead: fileBytesRead, bytesBefore: bytesBefore,
                             records: decider.counts.records)
        }
    }

    /// The `corrupt_input` entry of an input that faulted, in the dropped spool.
    private mutating func recordFault(
        _ fault: (offset: Int, line: Int, message: String), _ report: ReadReport, _ index: Int, _ writer: SpoolWriter
    ) {
        decider.recordFault(
            detail: "\(fault.message) (at compressed byte \(fault.offset), line \(fault.line)); "
                + "the complete lines before it were processed",
            line: report.faultLine, offset: report.stage.faultOffset,
            fragment: report.fragment, fragmentLength: report.fragmentLength,
            source: records.sources[index], dropped: &writer.dropped)
    }

    /// Hands input `index`'s commit to the committer (after the one before it is
    /// durable), and compacts the identity state when that is due.
    private mutating func commit(
        _ index: Int, _ summary: InputSummary, _ stage: DecompressReport, _ writer: SpoolWriter
    ) throws(SpoolError) {
        let counts = summary.counts
        let committed = LedgerInput(
            path: summary.path, absolutePath: plan.absolutePaths[index], size: stage.bytes,
            fingerprint: stage.fingerprint, etag: plan.toProcess[index].remote?.etag, format: stage.format,
            records: counts.records, accepted: counts.accepted, dropped: counts.dropped, status: summary.status)
        let prepared = spool.prepareCommit(nextCommit, [committed], writer: writer, state: &decider.state)
        try committer.waitUntilIdle()
        committer.submit(prepared)
        nextCommit += 1
        if spool.messageIDSaveIsDue(decider.state) {
            // The run is named by the last commit: this one, performed.
            try committer.waitUntilIdle()
            try spool.saveMessageIDsIfDue(&decider.state)
        }
        if spool.compactionIsDue {
            // The snapshot is of the state as of the last commit: this one, performed.
            try committer.waitUntilIdle()
            spool.compactIfDue(decider.state)
        }
    }
}
