import NudgeSpool
import NudgeSystem

/// Delivers the accepted spool to Nudge: opens the spool's replay progress, drives a
/// ``ReplayMachine`` through a ``ReplayShell`` until it finishes, and sums it up.
public struct Replay: Sendable {
    /// The spool directory whose accepted records are delivered.
    public var spool: String
    /// Where and how to deliver: endpoint, API key, concurrency.
    public var configuration: ReplayConfiguration
    /// Send and save nothing: the requests go to a ``DryRunTransport``, which counts
    /// (and may print) them, and no progress is written.
    public var dryRun: Bool
    /// `--switch-destination`: when the spool's progress is another destination's, keep
    /// it apart and deliver to this one (resuming its own kept progress, if any).
    public var switchDestination = false
    /// `--adopt-checkpoint`: a checkpoint that names no destination (written before
    /// destinations were recorded) is this destination's progress.
    public var adoptCheckpoint = false

    /// A replay of `spool` with `configuration`; with `dryRun`, nothing is sent or saved.
    public init(spool: String, configuration: ReplayConfiguration, dryRun: Bool = false) {
        self.spool = spool
        self.configuration = configuration
        self.dryRun = dryRun
    }

    /// Where this replay delivers.
    package var destination: ReplayDestination {
        ReplayDestination(endpoint: configuration.endpoint, keyFingerprint: configuration.keyFingerprint)
    }

    /// Runs the replay to its end.
    ///
    /// - Parameters:
    ///   - transport: sends each request (unused on a dry run).
    ///   - interrupts: each element is a Ctrl-C; the first stops new requests.
    ///   - printRequest: on a dry run, called with every request in order.
    ///   - progress: called at most five times a second while it works.
    public func run(
        transport: any ReplayTransport, interrupts: AsyncStream<Void>? = nil,
        printRequest: (@Sendable (OutgoingRequest) -> Void)? = nil,
        progress: ((ReplayProgress) -> Void)? = nil
    ) async throws(ReplayError) -> ReplaySummary {
        let started = MonotonicClock.now
        let opened = try await onFileThread { () throws(ReplayError) in try open() }
        let dryRunTransport = dryRun ? DryRunTransport(show: printRequest) : nil
        var machine = ReplayMachine(configuration: configuration, saved: opened.saved,
                                    seed: UInt64(truncatingIfNeeded: Int(started * 1e6)))
        var shell = ReplayShell(files: opened.files, transport: dryRunTransport ?? transport, started: started,
                                total: opened.total, progress: progress)
        let end: ReplayEnd
        do {
            end = try await shell.drive(&machine, interrupts: interrupts)
        } catch {
            await onFileThread { opened.files.close() }
            throw error
        }
        await onFileThread { opened.files.close() }
        return summary(of: machine, end: end, opened: opened, wouldSend: dryRunTransport?.count, started: started)
    }

    /// The spool's replay progress, opened for this destination.
    private struct Opened: Sendable {
        var files: ReplayFiles
        /// The progress to resume.
        var saved: ReplayCheckpoint
        /// Records still to deliver.
        var total: Int
    }

    /// Refuses progress that is not this destination's or this spool's, then opens the
    /// store (not on a dry run) and binds it to this destination. Blocks on the files.
    private func open() throws(ReplayError) -> Opened {
        let ledger: Ledger
        do { ledger = try Ledger.committed(inSpool: spool) } catch { throw .spool(error) }
        // Progress that is not this destination's or this spool's is refused before the
        // store opens (it would otherwise cut a rejected spool that is not its own).
        let binding = try ReplayStore.binding(ofSpool: spool, to: destination, ledger: ledger,
                                              switching: switchDestination, adopting: adoptCheckpoint)
        var store: ReplayStore?
        var saved = binding.checkpoint
        if !dryRun {
            let opened: ReplayStore
            do { opened = try ReplayStore(spool: spool) } catch { throw .spool(error) }
            try opened.bind(to: destination, ledger: ledger, switching: switchDestination, adopting: adoptCheckpoint)
            (store, saved) = (opened, opened.checkpoint)
        }
        // The reader moves past the records the progress counts as done without parsing
        // them (``AcceptedSpoolReader/next(where:)``).
        let reader = AcceptedSpoolReader(spool: spool, ledger: ledger)
        let total = max(ledger.acceptedRecordCount - saved.watermark - saved.done.count, 0) + saved.requeued.count
        return Opened(files: ReplayFiles(reader: reader, store: store), saved: saved, total: total)
    }

    /// What the replay did. A dry run reports what its transport counted and the
    /// totals the spool had: nothing was answered.
    private func summary(
        of machine: ReplayMachine, end: ReplayEnd, opened: Opened, wouldSend: DryRunTransport.Count?, started: Double
    ) -> ReplaySummary {
        var summary = ReplaySummary(spool: spool, endpoint: configuration.endpoint, dryRun: wouldSend != nil)
        summary.end = end
        summary.total = opened.total
        summary.remaining = max(opened.total - machine.tally.acknowledged - machine.tally.rejected, 0)
        summary.elapsedSeconds = MonotonicClock.now - started
        if let wouldSend {
            summary.tally = ReplayTally(requests: wouldSend.requests, sent: wouldSend.records,
                                        peakConcurrency: machine.tally.peakConcurrency,
                                        concurrency: machine.tally.concurrency)
            summary.totalAcknowledged = opened.saved.acknowledged
            summary.totalRejected = opened.saved.rejected
        } else {
            summary.tally = machine.tally
            summary.totalAcknowledged = machine.checkpoint.acknowledged
            summary.totalRejected = machine.checkpoint.rejected
        }
        return summary
    }
}
