import NudgeCore

/// `replay` as one state machine with no I/O: the ordering of the
/// ``DeliveryScheduler``, the retry and stop policy of ``RetryPolicy``, the number in
/// flight (``ConcurrencyLimit``), the rate cap, the rejected spool's contents and the
/// checkpoint's group commit. Every event returns the actions to carry out, in order;
/// the network shell (``Replay``) only reads records, sends, writes and sleeps.
///
/// Its life is one ``State``: reading or sending while there is work, draining once it
/// stops (Ctrl-C, a refused key, spent retries), finished when it has said so.
///
/// Time is an input (`now`, seconds on any monotonic clock), so a test drives the
/// machine through hours of backoff and kills in microseconds.
package struct ReplayMachine: Sendable {
    package enum Event: Sendable, Equatable {
        /// Records the shell read after a ``Action/read(upTo:)``; `atEnd` when the
        /// committed spool has no more.
        case read([AcceptedRecord], atEnd: Bool)
        /// The answer to a ``ReplaySend``.
        case answered(Int, HTTPAnswer)
        /// A ``Action/wake(at:)`` came due.
        case tick
        /// Ctrl-C: start nothing new; finish what is in flight.
        case interrupted
    }

    package enum Action: Sendable, Equatable {
        /// Read up to this many records still to deliver, in spool order.
        case read(upTo: Int)
        case send(ReplaySend)
        /// Append these lines to the rejected spool, `SPOOL/rejected/rejected.ndjson.gz` (synced before the
        /// next checkpoint).
        case writeRejected([UInt8])
        /// Save this checkpoint (the rejected lines written so far first).
        case saveCheckpoint(ReplayCheckpoint)
        /// Deliver ``Event/tick`` at this instant (an earlier wake still stands).
        case wake(at: Double)
        /// The replay is over; nothing else will be asked.
        case finish(ReplayEnd)
    }

    /// Where the replay is in its life.
    package enum State: Sendable, Equatable {
        /// Not started: ``start(now:)`` asks for the first records.
        case idle
        /// Records were asked for and are not read yet (sends go on meanwhile).
        case reading
        /// Sending what was read; the spool has more, asked for when the window has room.
        case sending
        /// The spool is read to its end: the rest of what was read is delivered, then
        /// the replay finishes.
        case sendingRest
        /// Stopped: nothing new starts, and the attempts on the wire are answered (or
        /// time out) before it finishes with this end.
        case draining(ReplayEnd)
        /// ``Action/finish(_:)`` was returned; events change nothing.
        case finished(ReplayEnd)
    }

    package let configuration: ReplayConfiguration
    package private(set) var state = State.idle
    package private(set) var tally = ReplayTally()
    package private(set) var checkpoint: ReplayCheckpoint

    private var scheduler: DeliveryScheduler
    private var concurrency: ConcurrencyLimit
    /// Bodies of the records read and not yet done, by sequence.
    private var records: [Int: AcceptedRecord] = [:]

    private struct Attempt: Sendable {
        var request: DeliveryRequest
        var outgoing: OutgoingRequest
        var number: Int
        var firstSentAt: Double
        var sentAt: Double
    }
    /// Attempts on the wire, by send id.
    private var onWire: [Int: Attempt] = [:]
    /// Attempts waiting for their backoff, with when they are due.
    private var backingOff: [(due: Double, attempt: Attempt)] = []
    private var nextSendID = 1
    private var pacing: Pacing
    /// Routes with an acknowledged request: a 404 after that is a fault, not a typo.
    private var routesThatWorked: Set<String> = []
    /// The destination has answered something (any status): a connection that cannot
    /// be made after that is a fault to retry, not a wrong endpoint.
    private var destinationAnswered = false
    private var groupCommit: GroupCommit
    private var random: SeededGenerator

    /// - Parameters:
    ///   - saved: the checkpoint the last replay left (or a fresh one).
    ///   - seed: seeds the backoff jitter (tests pass a fixed one).
    package init(configuration: ReplayConfiguration, saved: ReplayCheckpoint, seed: UInt64 = 0x9E37_79B9) {
        self.configuration = configuration
        checkpoint = saved
        checkpoint.rejectedRewrite = nil
        scheduler = DeliveryScheduler(limits: configuration.limits, watermark: saved.watermark, done: saved.done,
                                      rejectedUsers: saved.rejectedUsers, requeued: saved.requeued)
        concurrency = ConcurrencyLimit(ceiling: configuration.concurrency, fixed: configuration.fixedConcurrency)
        pacing = Pacing(requestsPerSecond: configuration.maxRequestsPerSecond)
        groupCommit = GroupCommit(everyAnswers: configuration.checkpointEveryAnswers,
                                  everySeconds: configuration.checkpointEverySeconds)
        random = SeededGenerator(seed: seed)
        // A destination that answered an earlier replay has answered: an outage now is
        // retried, never mistaken for a wrong endpoint.
        destinationAnswered = saved.acknowledged + saved.rejected > 0
    }

    /// Where reading the spool starts (records before it are done).
    package var firstWanted: Int { scheduler.firstWanted }

    /// Whether the record at `sequence` is still to be delivered; the shell's reader
    /// skips the others without parsing them.
    package func wants(_ sequence: Int) -> Bool { scheduler.wants(sequence) }

    /// What ``wants(_:)`` answers now, as a value to hand to the reader.
    package var wanted: WantedRecords { scheduler.wanted }

    /// Records read and not yet done, for the summary of a stopped replay.
    package var pendingCount: Int { scheduler.pendingCount }

    /// Attempts on the wire now.
    package var inFlight: Int { onWire.count }

    /// How the replay is ending, once it stops: nil while it reads and sends.
    private var stopping: ReplayEnd? {
        if case .draining(let end) = state { end } else { nil }
    }

    /// The first actions: start reading.
    package mutating func start(now: Double) -> [Action] {
        guard state == .idle else { return [] }
        state = .sending
        return pump(now: now)
    }

    /// Applies one event and returns what to do next.
    package mutating func handle(_ event: Event, now: Double) -> [Action] {
        switch state {
        case .finished: return []
        case .idle: state = .sending
        case .reading, .sending, .sendingRest, .draining: break
        }
        var actions: [Action] = []
        switch event {
        case .read(let batch, let atEnd):
            if stopping == nil { state = atEnd ? .sendingRest : .sending }
            for record in batch where scheduler.enqueue(record.record) {
                records[record.record.sequence] = record
            }
        case .answered(let id, let answer):
            actions += answered(id, answer, now: now)
        case .tick:
            break
        case .interrupted:
            stop(.interrupted)
        }
        return actions + pump(now: now)
    }

    // MARK: - Answers

    private mutating func answered(_ id: Int, _ answer: HTTPAnswer, now: Double) -> [Action] {
        guard let attempt = onWire.removeValue(forKey: id) else { return [] }
        let latency = now - attempt.sentAt
        tally.latencies.append(latency)
        let request = attempt.request
        if answer.status != nil {
            destinationAnswered = true
        } else if answer.unreachable && !destinationAnswered {
            refuse(attempt, .stopped(reason: "could not reach \(attempt.outgoing.url) (\(answer.failure ?? "no connection")): "
                                     + "check --endpoint (Nudge's is https://main-api.nudgenow.com/api/integration/segment) "
                                     + "and that it can be reached from here. Nothing was consumed", exitStatus: 1))
            return []
        }
        let verdict = RetryPolicy.verdict(status: answer.status, timedOut: answer.timedOut)
        if verdict != .acknowledged {
            tally.lastProblem = answer.status.map { "HTTP \($0)" } ?? answer.failure ?? "no answer"
        }
        switch verdict {
        case .acknowledged:
            routesThatWorked.insert(attempt.outgoing.url)
            concurrency.answered(latency: latency)
            tally.acknowledged += request.sequences.count
            checkpoint.acknowledged += request.sequences.count
            scheduler.acknowledged(request.id)
            forget(request.sequences)
            groupCommit.noteAnswer(now: now)
            return []
        case .rejected:
            concurrency.answered(latency: latency)
            return [reject(attempt, answer, now: now)]
        case .payloadTooLarge:
            concurrency.answered(latency: latency)
            guard request.sequences.count > 1 else { return [reject(attempt, answer, now: now)] }
            // Smaller batches for the rest of this replay; these records go back to
            // waiting and leave in the smaller batches, in the same order.
            let bytes = request.sequences.reduce(0) { $0 + (records[$1]?.record.bodyBytes ?? 0) }
            scheduler.shrinkBatches(below: request.sequences.count, bytes: bytes)
            scheduler.abandon(request.id)
            tally.splits += 1
            return []
        case .keyRefused, .unexpected:
            refuse(attempt, .stopped(reason: Self.refusal(verdict, attempt.outgoing, answer), exitStatus: 1))
            return []
        case .routeNotFound where !routesThatWorked.contains(attempt.outgoing.url):
            refuse(attempt, .stopped(reason: Self.refusal(verdict, attempt.outgoing, answer), exitStatus: 1))
            return []
        case .routeNotFound:
            retry(attempt, answer, congested: false, now: now)
            return []
        case .transient(let congested):
            retry(attempt, answer, congested: congested, now: now)
            return []
        }
    }

    /// What a person reads when `answer` stops the replay with exit 1: what went wrong
    /// and what to check. Nothing was consumed.
    private static func refusal(_ verdict: RetryPolicy.Verdict, _ request: OutgoingRequest, _ answer: HTTPAnswer) -> String {
        let status = answer.status ?? 0
        switch verdict {
        case .keyRefused:
            return "the API key was refused (\(status)): check NUDGE_API_KEY / --api-key. Nothing was consumed: the "
                + "records of refused requests are still to send"
        case .routeNotFound:
            return "\(request.method) \(request.url) answered \(status): no such route; check --endpoint (Nudge's is "
                + "https://main-api.nudgenow.com/api/integration/segment). Nothing was consumed"
        default:
            return "\(request.method) \(request.url) answered HTTP \(status), which neither judges the records nor is "
                + "worth a retry; check --endpoint and any proxy. Nothing was consumed"
        }
    }

    /// An answer that stops the replay with its records still to send.
    private mutating func refuse(_ attempt: Attempt, _ end: ReplayEnd) {
        scheduler.abandon(attempt.request.id)
        stop(end)
    }

    private mutating func retry(_ attempt: Attempt, _ answer: HTTPAnswer, congested: Bool, now: Double) {
        if congested { concurrency.congested(sentAt: attempt.sentAt, now: now) }
        let retryAfter = answer.retryAfter.flatMap { RetryPolicy.retryAfterSeconds($0, now: answer.receivedAt) }
        if let retryAfter { pacing.pause(until: now + min(retryAfter, configuration.retry.maxTotalSeconds)) }
        guard stopping == nil else {
            scheduler.abandon(attempt.request.id)
            return
        }
        let delay = configuration.retry.delay(afterAttempt: attempt.number, retryAfter: retryAfter, random: random.unit())
        guard configuration.retry.shouldRetry(afterAttempt: attempt.number, elapsed: now - attempt.firstSentAt, delay: delay)
        else {
            let what = answer.status.map { "HTTP \($0)" } ?? answer.failure ?? "no answer"
            refuse(attempt, .stopped(reason: "gave up after \(attempt.number) attempts (\(what))", exitStatus: 2))
            return
        }
        var next = attempt
        next.number += 1
        backingOff.append((due: now + delay, attempt: next))
    }

    private mutating func reject(_ attempt: Attempt, _ answer: HTTPAnswer, now: Double) -> Action {
        scheduler.rejected(attempt.request.id)
        return rejectedLines(attempt.request.sequences, reason: .rejectedByNudge, status: answer.status,
                             response: answer.body, attempts: attempt.number, now: now)
    }

    /// The rejected spool's lines for `sequences`, which are then done.
    private mutating func rejectedLines(
        _ sequences: [Int], reason: RejectedRecordEncoder.Reason, status: Int?, response: [UInt8], attempts: Int,
        now: Double
    ) -> Action {
        var lines: [UInt8] = []
        for sequence in sequences {
            guard let record = records[sequence] else { continue }
            lines += RejectedRecordEncoder.line(record, reason: reason, status: status, response: response,
                                                attempts: attempts)
        }
        forget(sequences)
        tally.rejected += sequences.count
        checkpoint.rejected += sequences.count
        checkpoint.rejectedBytes += lines.count
        groupCommit.noteAnswer(now: now)
        return .writeRejected(lines)
    }

    private mutating func forget(_ sequences: [Int]) {
        for sequence in sequences { records[sequence] = nil }
    }

    /// Nothing new starts from now on; retries waiting for their backoff go back to
    /// the scheduler unsent. The first stop's end is the one the replay reports.
    private mutating func stop(_ end: ReplayEnd) {
        guard stopping == nil else { return }
        state = .draining(end)
        for waiting in backingOff { scheduler.abandon(waiting.attempt.request.id) }
        backingOff = []
    }

    // MARK: - What to do next

    /// Reads, sends, saves and finishes as far as the state allows now.
    private mutating func pump(now: Double) -> [Action] {
        var actions: [Action] = []
        var wakeAt: Double?
        func wake(_ at: Double) { wakeAt = min(wakeAt ?? at, at) }

        if stopping == nil {
            if state == .sending && scheduler.wantsRecords {
                state = .reading
                actions.append(.read(upTo: min(scheduler.room, 4096)))
            }
            actions += startAttempts(now: now, wake: wake)
        }

        // A finishing replay saves whatever is unsaved.
        let ending = onWire.isEmpty && (stopping != nil || (state == .sendingRest && scheduler.isIdle))
        switch groupCommit.next(now: now, ending: ending) {
        case .nothing: break
        case .save: actions.append(.saveCheckpoint(saveableCheckpoint()))
        case .wake(at: let due): wake(due)
        }
        if ending {
            let end = stopping ?? .delivered
            state = .finished(end)
            actions.append(.finish(end))
            return actions
        }
        // With nothing in flight the scheduler always has a request to form; if it has
        // not, stop rather than hang.
        if state == .sendingRest && onWire.isEmpty && backingOff.isEmpty && wakeAt == nil && !scheduler.isIdle {
            stop(.stopped(reason: "no request could be formed with nothing in flight (please report this)", exitStatus: 2))
            return actions + pump(now: now)
        }
        tally.concurrency = concurrency.current
        if let wakeAt { actions.append(.wake(at: wakeAt)) }
        return actions
    }

    /// Starts attempts while slots are free: due retries first (they hold the oldest
    /// records of their users), then new requests.
    private mutating func startAttempts(now: Double, wake: (Double) -> Void) -> [Action] {
        var actions: [Action] = []
        while onWire.count < concurrency.current {
            let due = backingOff.indices.filter { backingOff[$0].due <= now }.min { backingOff[$0].due < backingOff[$1].due }
            guard due != nil || scheduler.hasWaiting else { break }
            if let blockedUntil = pacing.blocked(now: now) { wake(blockedUntil); break }
            var attempt: Attempt
            if let due {
                attempt = backingOff.remove(at: due).attempt
                tally.retries += 1
            } else {
                switch scheduler.next() {
                case .send(let request):
                    let outgoing = OutgoingRequest(request, carrying: request.sequences.compactMap { records[$0] },
                                                   configuration: configuration)
                    attempt = Attempt(request: request, outgoing: outgoing, number: 1, firstSentAt: now, sentAt: now)
                    tally.requests += 1
                    tally.sent += request.sequences.count
                case .rejectWithoutRequest(let sequences):
                    scheduler.markRejectedWithoutRequest(sequences)
                    actions.append(rejectedLines(sequences, reason: .identifyRejected, status: nil, response: [],
                                                 attempts: 0, now: now))
                    continue
                case .wait:
                    wakeForBackoff(now: now, wake)
                    return actions
                }
            }
            attempt.sentAt = now
            let id = nextSendID
            nextSendID += 1
            onWire[id] = attempt
            tally.peakConcurrency = max(tally.peakConcurrency, onWire.count)
            actions.append(.send(ReplaySend(id: id, request: attempt.outgoing)))
            pacing.started(now: now)
        }
        wakeForBackoff(now: now, wake)
        return actions
    }

    /// A retry still backing off needs a wake when it comes due; one already due waits
    /// for a free slot, which only an answer brings.
    private func wakeForBackoff(now: Double, _ wake: (Double) -> Void) {
        if let next = backingOff.lazy.map(\.due).filter({ $0 > now }).min() { wake(next) }
    }

    private mutating func saveableCheckpoint() -> ReplayCheckpoint {
        checkpoint.watermark = scheduler.watermark
        checkpoint.done = scheduler.doneAfterWatermark
        checkpoint.requeued = scheduler.requeued
        checkpoint.rejectedUsers = scheduler.rejectedUsers
        groupCommit.saved()
        return checkpoint
    }
}
