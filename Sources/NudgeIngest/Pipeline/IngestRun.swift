import NudgeCore
import NudgeSpool
import NudgeSystem

/// Runs the whole pipeline over the inputs: read → frame → scan → decide → write.
package struct IngestRun {
    package var options: RunOptions
    /// Where the inputs in S3 are read from (nil: a run of local inputs only).
    package var remote: (any RemoteInputSource)?

    package init(options: RunOptions, remote: (any RemoteInputSource)? = nil) {
        self.options = options
        self.remote = remote
    }

    /// Processes `inputs` into the spool and returns the summary. Throws only for spool
    /// errors (nothing of the input being processed is then committed); input faults
    /// are in the summary.
    ///
    /// The spool is opened, locked and recovered first; inputs it has committed are
    /// skipped (see ``Spool/plan(_:reprocessChanged:)``), and the identity state of
    /// earlier runs is loaded. Each input is then one commit: its records, its changes
    /// to the identity state and its ledger entry become durable together.
    ///
    /// Every core: a ``ParallelRecordStage`` reads, inflates, frames and parses the
    /// inputs on `jobs` workers; this thread decides their records in input order with
    /// one ``Decider`` and hands the spool bytes to the writing thread. The spools are
    /// byte for byte the same whatever `jobs` and the stage's sizes.
    ///
    /// When `stopRequested` turns true (Ctrl-C), the input being read is abandoned,
    /// uncommitted, and the summary says the run was interrupted: the inputs before it
    /// stay committed, and the same command continues from there. So it is when the
    /// remote store fails (``ReadEnd/stopped(_:)``), with the reason in
    /// ``RunSummary/stopped``.
    package func run(
        _ inputs: [InputFile], progress: ((RunProgress) -> Void)? = nil, stopRequested: (() -> Bool)? = nil
    ) throws(SpoolError) -> RunSummary {
        let started = MonotonicClock.now
        let spool = try Spool(directory: options.spool)
        let plan = try spool.plan(inputs, reprocessChanged: options.reprocessChanged, remote: remote)
        var summary = RunSummary(spool: options.spool)
        summary.skipped = plan.skipped
        if !plan.toProcess.isEmpty {
            let progress = progress.map { ProgressReport(started: started, plan: plan, report: $0) }
            try process(plan, into: spool, summary: &summary, progress: progress, stopRequested: stopRequested ?? { false })
        }
        summary.notes = spool.notes
        summary.remoteRequests = remote?.requestCounts
        summary.elapsedSeconds = MonotonicClock.now - started
        return summary
    }

    /// Reads, decides and commits the inputs of `plan` in turn, one commit each, until
    /// the last or until one stops the run; then adds what the run left in the identity
    /// state to `summary`.
    private func process(
        _ plan: InputPlan, into spool: Spool, summary: inout RunSummary, progress: ProgressReport?,
        stopRequested: () -> Bool
    ) throws(SpoolError) {
        let state = try spool.loadState()
        let committer = Committer(spool: spool)
        // On any exit, the commit in flight finishes before the spool is let go.
        defer { committer.stop() }
        let reader = InputReader(chunkBytes: options.readChunkBytes, inflateChunkBytes: options.inflateChunkBytes,
                                 maxLineBytes: options.maxLineBytes, inflater: options.inflate, remote: remote)
        let records = ParallelRecordStage(
            inputs: plan.toProcess, reader: reader,
            configuration: .init(jobs: options.jobs, inputs: plan.toProcess.count, batchBytes: options.batchBytes,
                                 batchCount: options.batchCount, maxLineBytes: options.maxLineBytes))
        records.start()
        // The reading and parsing threads hold the stage; on any exit, release them.
        defer { records.cancel() }
        var inputs = InputCommits(
            spool: spool, plan: plan, committer: committer, records: records, decider: Decider(state: state),
            writers: (0..<2).map { _ in SpoolWriter(directory: options.spool, flushThreshold: options.spoolFlushBytes) },
            progress: progress)
        summary.planned = plan.toProcess.count
        for index in plan.toProcess.indices {
            if stopRequested() {
                summary.interrupted = true
                break
            }
            switch try inputs.process(index, stopRequested: stopRequested) {
            case .committed(let input): summary.inputs.append(input)
            case .refused(let input): summary.refused.append(input)
            case .interrupted: summary.interrupted = true
            case .stopped(let why): summary.stopped = why
            }
            if summary.interrupted || summary.stopped != nil { break }
        }
        try committer.waitUntilIdle()
        // What was committed: an interrupted input's records are not.
        summary.counts = summary.inputs.reduce(OutcomeCounts()) { $0 + $1.counts }
        if !summary.interrupted && summary.stopped == nil {
            summary.redrivable = inputs.decider.waitingTracks.acceptable(in: inputs.decider.state)
            summary.state = inputs.decider.state.statistics
        }
    }
}

/// The progress callback of a run, called at most every 0.2 s.
private struct ProgressReport {
    let started: Double
    let plan: InputPlan
    let report: (RunProgress) -> Void
    /// File bytes of all the run's inputs; nil when some size is unknown.
    let bytesTotal: Int?
    private var last: Double

    init(started: Double, plan: InputPlan, report: @escaping (RunProgress) -> Void) {
        (self.started, self.plan, self.report, last) = (started, plan, report, started)
        bytesTotal = plan.sizes.contains(nil) ? nil : plan.sizes.reduce(0) { $0 + $1! }
    }

    /// Reports where input `index` stands, if the last report is 0.2 s old.
    mutating func update(input index: Int, fileBytesRead: Int, bytesBefore: Int, records: Int) {
        guard MonotonicClock.now - last >= 0.2 else { return }
        last = MonotonicClock.now
        report(RunProgress(
            inputIndex: index, inputCount: plan.toProcess.count, path: plan.toProcess[index].path,
            inputBytesRead: fileBytesRead, inputBytesTotal: plan.sizes[index],
            bytesBefore: bytesBefore, bytesTotal: bytesTotal, records: records, elapsedSeconds: last - started))
    }
}

/// The inputs of one run, each read through the record stage, decided in input order
/// and committed on its own: its records, its changes to the identity state and its
/// ledger entry become durable together.
private struct InputCommits {
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
        case .unreadable(let why):
            summary.status = .unreadable
            summary.fault = (report.stage.faultOffset, report.faultLine, "cannot read: \(why)")
        case .corrupt(let fault):
            summary.status = .corrupt
            summary.fault = (report.stage.faultOffset, report.faultLine, fault.message)
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
        if spool.compactionIsDue {
            // The snapshot is of the state as of the last commit: this one, performed.
            try committer.waitUntilIdle()
            spool.compactIfDue(decider.state)
        }
    }
}
