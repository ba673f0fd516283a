import NudgeCore
import NudgeSpool
import NudgeSystem

/// Why a replay could not go on: the spool could not be read or written. (Answers
/// from Nudge never throw: they end the replay through ``ReplayEnd``.)
package enum ReplayError: Error, Sendable, CustomStringConvertible {
    case spool(SpoolError)
    case reading(AcceptedSpoolReader.Failure)
    /// The spool's replay progress is another destination's, or another spool's.
    case refused(ReplayRefusal)

    package var description: String {
        switch self {
        case .spool(let error): "\(error)"
        case .reading(let error): "\(error)"
        case .refused(let refusal): "\(refusal)"
        }
    }
}

/// Where a replay stands, for a progress line.
package struct ReplayProgress: Sendable {
    /// Records answered (acknowledged or rejected) by this replay, of `total` to send.
    package var answered: Int
    package var total: Int
    package var rejected: Int
    package var inFlight: Int
    package var concurrency: Int
    package var retries: Int
    package var elapsedSeconds: Double

    /// The last answer that was not an acknowledgement (`HTTP 503`, `connection refused`).
    package var lastProblem: String?

    /// One line for a terminal `width` columns wide:
    /// `12,000 of 61,238 records (19.6 %) · 0 rejected · 17/32 in flight · 3 retries (last: HTTP 503) · ETA 0:41`.
    /// What does not fit is left out, least useful first (in flight, retries, rejected);
    /// the counts and the ETA always stay.
    package func line(width: Int = 160) -> String {
        let share = total > 0 ? Double(answered) / Double(total) * 100 : 100
        var eta = "–"
        if answered > 0 && elapsedSeconds > 0.5 && total > answered {
            let seconds = Int((Double(total - answered) / (Double(answered) / elapsedSeconds)).rounded())
            eta = seconds >= 3600 ? "\(seconds / 3600):" + String(seconds / 60 % 60).leftPadded(to: 2) + ":"
                + String(seconds % 60).leftPadded(to: 2) : "\(seconds / 60):" + String(seconds % 60).leftPadded(to: 2)
        }
        let head = "\(group(answered)) of \(group(total)) records (\(fixed(share, decimals: 1)) %)"
        let tail = "ETA \(eta)"
        // In the order shown; `keep` ranks them: lower is kept longer.
        var parts: [(text: String, keep: Int)] = [
            ("\(group(rejected)) rejected", 1),
            ("\(inFlight)/\(concurrency) in flight", 3),
            ("\(group(retries)) retries", 2),
        ]
        if let lastProblem {
            // A failure's text can be long (a nested error): a glance is enough here.
            parts.append(("last: " + (lastProblem.count > 28 ? lastProblem.prefix(27) + "…" : lastProblem), 0))
        }
        let room = max(width - 1, 8)
        func joined(_ shown: [(text: String, keep: Int)]) -> String {
            ([head] + shown.map(\.text) + [tail]).joined(separator: " · ")
        }
        var shown = parts
        while joined(shown).count > room, let drop = shown.indices.max(by: { shown[$0].keep < shown[$1].keep }) {
            shown.remove(at: drop)
        }
        let line = joined(shown)
        return line.count > room ? String(line.prefix(room)) : line
    }
}

/// Delivers the accepted spool to Nudge: the network shell around the
/// ``ReplayMachine``. It reads the spool when asked, starts each send as a task of its
/// own, sleeps until the machine's next wake, writes the rejected spool and the
/// checkpoint, and feeds every answer, tick and interruption back as an event. All
/// decisions are the machine's.
package struct Replay {
    package var spool: String
    package var configuration: ReplayConfiguration
    /// Print the requests instead of sending them; nothing is saved.
    package var dryRun: Bool
    /// `--switch-destination`: when the spool's progress is another destination's, keep
    /// it apart and deliver to this one (resuming its own kept progress, if any).
    package var switchDestination = false
    /// `--adopt-checkpoint`: a checkpoint that names no destination (written before
    /// destinations were recorded) is this destination's progress.
    package var adoptCheckpoint = false

    package init(spool: String, configuration: ReplayConfiguration, dryRun: Bool = false) {
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
    package func run(
        transport: ReplayTransport, interrupts: AsyncStream<Void>? = nil,
        printRequest: (@Sendable (OutgoingRequest) -> Void)? = nil,
        progress: ((ReplayProgress) -> Void)? = nil
    ) async throws(ReplayError) -> ReplaySummary {
        let started = MonotonicClock.now
        let store: ReplayStore?
        let ledger: Ledger
        let saved: ReplayCheckpoint
        do { ledger = try Ledger.committed(inSpool: spool) } catch { throw .spool(error) }
        // Progress that is not this destination's or this spool's is refused before the
        // store opens (it would otherwise cut a rejected spool that is not its own).
        let binding = try ReplayStore.binding(ofSpool: spool, to: destination, ledger: ledger,
                                              switching: switchDestination, adopting: adoptCheckpoint)
        do {
            store = dryRun ? nil : try ReplayStore(spool: spool)
        } catch {
            throw .spool(error)
        }
        if let store {
            try store.bind(to: destination, ledger: ledger, switching: switchDestination, adopting: adoptCheckpoint)
            saved = store.checkpoint
        } else {
            saved = binding.checkpoint
        }
        var machine = ReplayMachine(configuration: configuration, saved: saved,
                                    seed: UInt64(truncatingIfNeeded: Int(started * 1e6)))
        let total = max(ledger.acceptedRecordCount - saved.watermark - saved.done.count, 0) + saved.requeued.count
        var reader = AcceptedSpoolReader(spool: spool, ledger: ledger)
        do { try reader.skip(to: machine.firstWanted) } catch { throw .reading(error) }

        let (events, sink) = AsyncStream<ReplayMachine.Event>.makeStream()
        var end = ReplayEnd.delivered
        var failure: ReplayError?
        var lastProgress = started
        let dryRun = self.dryRun

        // Discarding: a finished send leaves nothing behind (its answer went to `events`).
        await withDiscardingTaskGroup { group in
            if let interrupts {
                group.addTask {
                    for await _ in interrupts { sink.yield(.interrupted) }
                }
            }
            var pending = machine.start(now: MonotonicClock.now - started)
            var scheduledWake = Double.infinity
            var iterator = events.makeAsyncIterator()
            do throws(ReplayError) {
                events: while true {
                    while !pending.isEmpty {
                        let action = pending.removeFirst()
                        switch action {
                        case .read(let count):
                            var batch: [AcceptedRecord] = []
                            batch.reserveCapacity(count)
                            do throws(SpoolReadError) {
                                let wanted = { (sequence: Int) in machine.wants(sequence) }
                                while batch.count < count, let next = try reader.next(where: wanted) {
                                    batch.append(next)
                                }
                            } catch {
                                throw .reading(error)
                            }
                            pending += machine.handle(.read(batch, atEnd: batch.count < count), now: MonotonicClock.now - started)
                        case .send(let send):
                            if dryRun {
                                printRequest?(send.request)
                                pending += machine.handle(.answered(send.id, HTTPAnswer(status: 200)), now: MonotonicClock.now - started)
                            } else {
                                group.addTask {
                                    let answer = await transport.send(send.request)
                                    sink.yield(.answered(send.id, answer))
                                }
                            }
                        case .writeRejected(let lines):
                            guard let store else { break }
                            do throws(SpoolError) { try store.appendRejected(lines) } catch { throw .spool(error) }
                        case .saveCheckpoint(let checkpoint):
                            guard let store else { break }
                            do throws(SpoolError) { try store.save(checkpoint) } catch { throw .spool(error) }
                        case .wake(let at):
                            guard at < scheduledWake else { break }
                            scheduledWake = at
                            let delay = max(at - (MonotonicClock.now - started), 0)
                            group.addTask {
                                try? await Task.sleep(nanoseconds: UInt64(delay * 1e9) + 1_000)
                                sink.yield(.tick)
                            }
                        case .finish(let how):
                            end = how
                            break events
                        }
                    }
                    if let progress, MonotonicClock.now - lastProgress >= 0.2 {
                        lastProgress = MonotonicClock.now
                        progress(ReplayProgress(
                            answered: machine.tally.acknowledged + machine.tally.rejected, total: total,
                            rejected: machine.tally.rejected, inFlight: machine.inFlight,
                            concurrency: machine.tally.concurrency, retries: machine.tally.retries,
                            elapsedSeconds: lastProgress - started, lastProblem: machine.tally.lastProblem))
                    }
                    guard let event = await iterator.next() else { break }
                    let now = MonotonicClock.now - started
                    if case .tick = event, now >= scheduledWake { scheduledWake = .infinity }
                    pending = machine.handle(event, now: now)
                }
            } catch {
                failure = error
            }
            sink.finish()
            group.cancelAll()
        }
        if let failure { throw failure }
        var summary = ReplaySummary(spool: spool, endpoint: configuration.endpoint, dryRun: dryRun)
        summary.tally = machine.tally
        summary.end = end
        summary.total = total
        summary.remaining = max(total - machine.tally.acknowledged - machine.tally.rejected, 0)
        summary.elapsedSeconds = MonotonicClock.now - started
        summary.totalAcknowledged = machine.checkpoint.acknowledged
        summary.totalRejected = machine.checkpoint.rejected
        if dryRun {
            // Nothing was sent: no acknowledgements, latencies or totals to report.
            summary.tally.acknowledged = 0
            summary.tally.rejected = 0
            summary.tally.latencies = []
            summary.totalAcknowledged = saved.acknowledged
            summary.totalRejected = saved.rejected
        }
        return summary
    }
}
