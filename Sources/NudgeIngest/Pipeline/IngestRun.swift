import NudgeCore
import NudgeSpool
import NudgeSystem

/// Settings of one `nudge-ingest run`.
package struct RunOptions: Sendable {
    /// The spool directory (`--spool`).
    package var spool: String = "spool"
    /// Longer lines are dropped as `line_too_long` (`--max-line-bytes`, default 1 MiB).
    package var maxLineBytes: Int = 1 << 20
    /// Process inputs whose content changed since they were committed, as new inputs
    /// (`--reprocess-changed`); otherwise the run refuses them.
    package var reprocessChanged = false
    /// How many file bytes are read at a time.
    package var readChunkBytes: Int = 1 << 20
    /// Which library inflates gzip inputs (`--inflate`): ISA-L where installed, else zlib.
    package var inflate: InflateBackend = .auto
    /// How many inflated bytes the inflater hands on at a time.
    var inflateChunkBytes: Int = 256 << 10
    /// How many workers parse records at once, and how many inputs are read at once
    /// (`--jobs`, default: the cores this process may use). The spools are the same
    /// for every value.
    package var jobs: Int = availableCores()
    /// The batches of lines between the readers, the workers and the sequencer: how
    /// large (in line bytes), and how many (nil: three a worker plus four).
    var batchBytes = 256 << 10
    var batchCount: Int?
    /// Spool bytes gathered before they go to the writing thread.
    var spoolFlushBytes = 1 << 20

    package init() {}
}

/// Where a long run stands, for a progress line.
package struct RunProgress: Sendable {
    package var inputIndex: Int
    package var inputCount: Int
    package var path: String
    package var inputBytesRead: Int
    package var inputBytesTotal: Int?
    /// File bytes of the inputs before this one, and of all the run's inputs (nil when
    /// some size is unknown: standard input, a FIFO).
    package var bytesBefore: Int = 0
    package var bytesTotal: Int?
    package var records: Int
    package var elapsedSeconds: Double

    /// The share of all the run's input bytes read, 0–1, when the total is known.
    package var fractionDone: Double? {
        guard let total = bytesTotal, total > 0 else { return nil }
        return min(Double(bytesBefore + inputBytesRead) / Double(total), 1)
    }

    /// One line for a terminal `width` columns wide:
    /// `[2/8] 37% of 194.5 MB · ETA 1m 20s · 547,499 records · 227,582/s · segment-…/1743033600000/part-2.gz`,
    /// the path shortened in its middle so that the line never wraps.
    package func line(width: Int = 160) -> String {
        var head = "[\(inputIndex + 1)/\(inputCount)]"
        if let fraction = fractionDone, let total = bytesTotal {
            // Of the bytes listed or found at the start: an S3 run's progress is its download's.
            head += " \(Int(fraction * 100))% of " + (total >= 1_000_000_000
                ? format1(Double(total) / 1e9) + " GB" : format1(Double(total) / 1e6) + " MB")
            if fraction > 0.005 && elapsedSeconds >= 1 {
                head += " · ETA " + Self.duration(elapsedSeconds * (1 - fraction) / fraction)
            }
        } else if let total = inputBytesTotal, total > 0 {
            head += " this input \(inputBytesRead * 100 / total)%"
        }
        let rate = elapsedSeconds > 0 ? Int(Double(records) / elapsedSeconds) : 0
        head += " · \(group(records)) records · \(group(rate))/s"
        return fitted(head, path, width: width)
    }

    /// `1m 20s`, `2h 05m`, `12s`.
    package static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.up))
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m \(String(total % 60).leftPadded(to: 2))s" }
        return "\(total / 3600)h \(String(total / 60 % 60).leftPadded(to: 2))m"
    }
}

/// `head · tail` in at most `width - 1` columns (the last column left free, so that a
/// terminal never wraps it): `tail` shortened in its middle with `…`, then `head` cut.
package func fitted(_ head: String, _ tail: String, width: Int) -> String {
    let room = max(width - 1, 8)
    let headCount = head.count
    if headCount + 3 + tail.count <= room { return head + " · " + tail }
    let left = room - headCount - 3
    guard left >= 9 else { return String(head.prefix(room)) }
    let keepEnd = (left - 1) * 2 / 3
    let keepStart = left - 1 - keepEnd
    return head + " · " + tail.prefix(keepStart) + "…" + tail.suffix(keepEnd)
}

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
        guard !plan.toProcess.isEmpty else {
            summary.notes = spool.notes
            summary.remoteRequests = remote?.requestCounts
            summary.elapsedSeconds = MonotonicClock.now - started
            return summary
        }
        let state = try spool.loadState()
        // Two writers take turns: one receives input N+1's records while the committer
        // syncs input N's.
        let writers = (0..<2).map { _ in SpoolWriter(directory: options.spool, flushThreshold: options.spoolFlushBytes) }
        let committer = Committer(spool: spool)
        // On any exit, the commit in flight finishes before the spool is let go.
        defer { committer.stop() }
        var nextCommit = spool.ledger.lastCommit + 1
        var decider = Decider(state: state)
        let reader = InputReader(chunkBytes: options.readChunkBytes, inflateChunkBytes: options.inflateChunkBytes,
                                 maxLineBytes: options.maxLineBytes, inflater: options.inflate, remote: remote)
        var lastProgress = started
        let records = ParallelRecordStage(
            inputs: plan.toProcess, reader: reader,
            configuration: .init(jobs: options.jobs, inputs: plan.toProcess.count, batchBytes: options.batchBytes,
                                 batchCount: options.batchCount, maxLineBytes: options.maxLineBytes))
        records.start()
        // The reading and parsing threads hold the stage; on any exit, release them.
        defer { records.cancel() }
        let sizes = plan.sizes
        let bytesTotal = sizes.contains(nil) ? nil : sizes.reduce(0) { $0 + $1! }
        var bytesBefore = 0
        summary.planned = plan.toProcess.count
        let stopRequested = stopRequested ?? { false }

        inputs: for (index, input) in plan.toProcess.enumerated() {
            if stopRequested() {
                summary.interrupted = true
                break
            }
            let writer = writers[index % 2]
            try writer.begin(commit: nextCommit)
            let source = records.sources[index]
            let before = decider.counts
            let total = sizes[index]
            var report: ReadReport
            while true {
                let batch = records.next(input: index)
                decider.decide(batch.parsed, source: source, accepted: &writer.accepted, dropped: &writer.dropped)
                let (fileBytesRead, end) = (batch.fileBytesRead, batch.end)
                records.recycle(batch)
                try writer.flushIfNeeded()
                if let end {
                    report = end
                    break
                }
                if stopRequested() {
                    // Abandoned: the writer's partial files are removed, nothing of it is committed.
                    summary.interrupted = true
                    break inputs
                }
                if let progress, MonotonicClock.now - lastProgress >= 0.2 {
                    lastProgress = MonotonicClock.now
                    progress(RunProgress(
                        inputIndex: index, inputCount: plan.toProcess.count, path: input.path,
                        inputBytesRead: fileBytesRead, inputBytesTotal: total,
                        bytesBefore: bytesBefore, bytesTotal: bytesTotal,
                        records: decider.counts.records, elapsedSeconds: lastProgress - started))
                }
            }
            let stage = report.stage
            var inputSummary = InputSummary(
                path: input.path, format: stage.format, bytes: stage.bytes,
                uncompressedBytes: stage.uncompressedBytes, counts: OutcomeCounts(), status: .ok, fault: nil)
            switch stage.end {
            case .complete:
                break
            case .unreadable(let why):
                inputSummary.status = .unreadable
                inputSummary.fault = (stage.faultOffset, report.faultLine, "cannot read: \(why)")
            case .corrupt(let fault):
                inputSummary.status = .corrupt
                inputSummary.fault = (stage.faultOffset, report.faultLine, fault.message)
            case .stopped(let failure):
                // Not the input's fault: nothing of it is committed, the next run reads it again.
                summary.stopped = failure.message
                break inputs
            case .refused(let format):
                // Known by its first bytes, before any line: nothing of it to commit.
                writer.discard()
                summary.refused.append(RefusedInput(path: input.path, format: format))
                bytesBefore += total ?? 0
                // The next input takes the other writer: the one the committer may still hold.
                try committer.waitUntilIdle()
                continue inputs
            }
            if let fault = inputSummary.fault {
                decider.recordFault(
                    detail: "\(fault.message) (at compressed byte \(fault.offset), line \(fault.line)); "
                        + "the complete lines before it were processed",
                    line: report.faultLine, offset: stage.faultOffset,
                    fragment: report.fragment, fragmentLength: report.fragmentLength,
                    source: source, dropped: &writer.dropped)
            }
            inputSummary.counts = decider.counts - before
            let counts = inputSummary.counts
            let committed = LedgerInput(
                path: input.path, absolutePath: plan.absolutePaths[index], size: stage.bytes,
                fingerprint: stage.fingerprint, etag: input.remote?.etag, format: stage.format, records: counts.records,
                accepted: counts.accepted, dropped: counts.dropped, status: inputSummary.status)
            let prepared = spool.prepareCommit(nextCommit, [committed], writer: writer, state: &decider.state)
            try committer.waitUntilIdle()
            committer.submit(prepared)
            nextCommit += 1
            if spool.compactionIsDue {
                // The snapshot is of the state as of the last commit: this one, performed.
                try committer.waitUntilIdle()
                spool.compactIfDue(decider.state)
            }
            summary.inputs.append(inputSummary)
            bytesBefore += total ?? 0
        }
        try committer.waitUntilIdle()
        // What was committed: an interrupted input's records are not.
        summary.counts = summary.inputs.reduce(OutcomeCounts()) { $0 + $1.counts }
        if !summary.interrupted && summary.stopped == nil {
            summary.redrivable = decider.waitingTracks.acceptable(in: decider.state)
            summary.state = decider.state.statistics
        }
        summary.notes = spool.notes
        summary.remoteRequests = remote?.requestCounts
        summary.elapsedSeconds = MonotonicClock.now - started
        return summary
    }
}
