import NudgeCore
import NudgeSpool
import NudgeSystem

/// Runs the whole pipeline over the inputs: read → frame → scan → decide → write.
public struct IngestRun {
    /// The settings of the run (those of `nudge-ingest run`).
    public var options: RunOptions
    /// Where the inputs in S3 are read from (nil: a run of local inputs only).
    package var remote: (any RemoteInputSource)?

    /// A run of local inputs (files, folders walked, `-` for standard input).
    public init(options: RunOptions) {
        self.init(options: options, remote: nil)
    }

    /// A run that reads `s3://` inputs through `remote` too.
    package init(options: RunOptions, remote: (any RemoteInputSource)?) {
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
    public func run(
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
        let state = try spool.loadState(messageIDBudget: options.messageIDBudget)
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
            writers: (0..<2).map { _ in
                SpoolWriter(directory: options.spool, flushThreshold: options.spoolFlushBytes,
                            compressed: options.compressSpool, memberBytes: options.spoolMemberBytes,
                            compressors: options.jobs)
            },
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
        summary.stateDiskBytes = spool.stateDiskBytes
        summary.memoryBudget = options.messageIDBudget.bytes
    }
}
