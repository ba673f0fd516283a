import NudgeCore

/// Settings of one `nudge-ingest replay`.
package struct ReplayConfiguration: Sendable {
    /// The base URL; requests go to `{endpoint}/identify` and `{endpoint}/events/batch`.
    package var endpoint = "https://main-api.nudgenow.com/api/integration/segment"
    package var apiKey = ""
    /// A one-way fingerprint of ``apiKey`` (the HTTP shell makes it with SHA-256): with
    /// the endpoint, it names the destination the spool's progress belongs to.
    package var keyFingerprint = ""
    package var limits = DeliveryLimits()
    package var retry = RetryPolicy()
    /// Requests in flight at most (`--concurrency`, default 32); the number in flight
    /// adapts below it (``ConcurrencyLimit``) unless `fixedConcurrency`.
    package var concurrency = 32
    package var fixedConcurrency = false
    /// Request starts per second, at most (`--max-rps`).
    package var maxRequestsPerSecond: Double?
    /// Group commit: the checkpoint is saved once this many answers are unsaved, or
    /// once the oldest unsaved answer is this old, whichever comes first.
    package var checkpointEveryAnswers = 1000
    package var checkpointEverySeconds = 0.2

    package init() {}
}

/// How a replay ended.
package enum ReplayEnd: Sendable, Equatable {
    /// Everything read was acknowledged or rejected.
    case delivered
    /// Ctrl-C: requests in flight were answered (or timed out) and saved.
    case interrupted
    /// The replay stopped early: `exitStatus` 1 for an operator's mistake (nothing
    /// consumed), 2 when retries were spent (run replay again).
    case stopped(reason: String, exitStatus: Int32)
}

/// What one replay did, for its summary.
package struct ReplayTally: Sendable, Equatable {
    /// Requests started and the records they carried, retries and split batches not
    /// counted again.
    package var requests = 0
    package var sent = 0
    package var acknowledged = 0
    package var rejected = 0
    /// Attempts beyond the first.
    package var retries = 0
    /// The last answer that was not an acknowledgement (`HTTP 503`, `connection
    /// refused`), for the progress line; nil while every answer was clean.
    package var lastProblem: String?
    /// Batches split after a 413.
    package var splits = 0
    /// Seconds from sending to an answer, per attempt.
    package var latencies: [Double] = []
    /// The ceiling the number in flight reached, and where it stands.
    package var peakConcurrency = 0
    package var concurrency = 0
}

/// One HTTP attempt the shell must carry out; its answer comes back as
/// ``ReplayMachine/Event/answered(_:_:)`` with the same `id`.
package struct ReplaySend: Sendable {
    package var id: Int
    package var request: OutgoingRequest
}

/// `replay` as one state machine with no I/O: the ordering of the
/// ``DeliveryScheduler``, the retry and stop policy of ``RetryPolicy``, the number in
/// flight (``ConcurrencyLimit``), the rate cap, the rejected spool's contents and the
/// checkpoint's group commit. Every event returns the actions to carry out, in order;
/// the network shell (``Replay``) only reads records, sends, writes and sleeps.
///
/// Time is an input (`now`, seconds on any monotonic clock), so a test drives the
/// machine through hours of backoff and kills in microseconds.
package struct ReplayMachine: Sendable {
    package enum Event: Sendable {
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

    package enum Action: Sendable {
        /// Read up to this many records still to deliver, in spool order.
        case read(upTo: Int)
        case send(ReplaySend)
        /// Append these lines to `SPOOL/rejected/rejected.ndjson` (synced before the
        /// next checkpoint).
        case writeRejected([UInt8])
        /// Save this checkpoint (the rejected lines written so far first).
        case saveCheckpoint(ReplayCheckpoint)
        /// Deliver ``Event/tick`` at this instant (an earlier wake still stands).
        case wake(at: Double)
        /// The replay is over; nothing else will be asked.
        case finish(ReplayEnd)
    }

    package let configuration: ReplayConfiguration
    package private(set) var tally = ReplayTally()
    package private(set) var checkpoint: ReplayCheckpoint
    /// The replay has finished (``Action/finish(_:)`` was returned).
    package private(set) var finished = false

    private var scheduler: DeliveryScheduler
    private var concurrency: ConcurrencyLimit
    /// Bodies of the records read and not yet done, by sequence.
    private var records: [Int: AcceptedRecord] = [:]
    private var readerAtEnd = false
    private var reading = false

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
    /// No attempt starts before this (a `Retry-After` pauses every slot).
    private var pausedUntil = -Double.infinity
    /// The rate cap's next free start.
    private var nextStartAt = -Double.infinity
    private var stopping: ReplayEnd?
    /// Routes with an acknowledged request: a 404 after that is a fault, not a typo.
    private var routesThatWorked: Set<String> = []
    /// The destination has answered something (any status): a connection that cannot
    /// be made after that is a fault to retry, not a wrong endpoint.
    private var destinationAnswered = false
    private var unsavedAnswers = 0
    private var firstUnsavedAt: Double?
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

    /// Records read and not yet done, for the summary of a stopped replay.
    package var pendingCount: Int { scheduler.pendingCount }

    /// Attempts on the wire now.
    package var inFlight: Int { onWire.count }

    /// The first actions: start reading.
    package mutating func start(now: Double) -> [Action] {
        pump(now: now)
    }

    /// Applies one event and returns what to do next.
    package mutating func handle(_ event: Event, now: Double) -> [Action] {
        guard !finished else { return [] }
        var actions: [Action] = []
        switch event {
        case .read(let batch, let atEnd):
            reading = false
            readerAtEnd = atEnd
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
            scheduler.abandon(request.id)
            stop(.stopped(reason: "could not reach \(attempt.outgoing.url) (\(answer.failure ?? "no connection")): check "
                          + "--endpoint (Nudge's is https://main-api.nudgenow.com/api/integration/segment) and that it "
                          + "can be reached from here. Nothing was consumed", exitStatus: 1))
            return []
        }
        if RetryPolicy.verdict(status: answer.status, timedOut: answer.timedOut) != .acknowledged {
            tally.lastProblem = answer.status.map { "HTTP \($0)" } ?? answer.failure ?? "no answer"
        }
        switch RetryPolicy.verdict(status: answer.status, timedOut: answer.timedOut) {
        case .acknowledged:
            routesThatWorked.insert(attempt.outgoing.url)
            concurrency.answered(latency: latency)
            tally.acknowledged += request.sequences.count
            checkpoint.acknowledged += request.sequences.count
            scheduler.acknowledged(request.id)
            forget(request.sequences)
            noteAnswer(now: now)
            return []
        case .rejected:
            concurrency.answered(latency: latency)
            return reject(attempt, answer, now: now)
        case .payloadTooLarge:
            concurrency.answered(latency: latency)
            guard request.sequences.count > 1 else { return reject(attempt, answer, now: now) }
            // Smaller batches for the rest of this replay; these records go back to
            // waiting and leave in the smaller batches, in the same order.
            let bytes = request.sequences.reduce(0) { $0 + (records[$1]?.record.bodyBytes ?? 0) }
            scheduler.shrinkBatches(below: request.sequences.count, bytes: bytes)
            scheduler.abandon(request.id)
            tally.splits += 1
            return []
        case .keyRefused:
            scheduler.abandon(request.id)
            stop(.stopped(reason: "the API key was refused (\(answer.status ?? 0)): check NUDGE_API_KEY / --api-key. "
                          + "Nothing was consumed: the records of refused requests are still to send",
                          exitStatus: 1))
            return []
        case .routeNotFound where !routesThatWorked.contains(attempt.outgoing.url):
            scheduler.abandon(request.id)
            stop(.stopped(reason: "\(attempt.outgoing.method) \(attempt.outgoing.url) answered \(answer.status ?? 0): "
                          + "no such route; check --endpoint (Nudge's is "
                          + "https://main-api.nudgenow.com/api/integration/segment). Nothing was consumed",
                          exitStatus: 1))
            return []
        case .unexpected:
            scheduler.abandon(request.id)
            stop(.stopped(reason: "\(attempt.outgoing.method) \(attempt.outgoing.url) answered HTTP \(answer.status ?? 0), "
                          + "which neither judges the records nor is worth a retry; check --endpoint and any proxy. "
                          + "Nothing was consumed", exitStatus: 1))
            return []
        case .routeNotFound:
            return retry(attempt, answer, congested: false, now: now)
        case .transient(let congested):
            return retry(attempt, answer, congested: congested, now: now)
        }
    }

    private mutating func retry(_ attempt: Attempt, _ answer: HTTPAnswer, congested: Bool, now: Double) -> [Action] {
        if congested { concurrency.congested(sentAt: attempt.sentAt, now: now) }
        let retryAfter = answer.retryAfter.flatMap { RetryPolicy.retryAfterSeconds($0, now: answer.receivedAt) }
        if let retryAfter { pausedUntil = max(pausedUntil, now + min(retryAfter, configuration.retry.maxTotalSeconds)) }
        guard stopping == nil else {
            scheduler.abandon(attempt.request.id)
            return []
        }
        let delay = configuration.retry.delay(afterAttempt: attempt.number, retryAfter: retryAfter, random: random.unit())
        guard configuration.retry.shouldRetry(afterAttempt: attempt.number, elapsed: now - attempt.firstSentAt, delay: delay)
        else {
            scheduler.abandon(attempt.request.id)
            let what = answer.status.map { "HTTP \($0)" } ?? answer.failure ?? "no answer"
            stop(.stopped(reason: "gave up after \(attempt.number) attempts (\(what))", exitStatus: 2))
            return []
        }
        var next = attempt
        next.number += 1
        backingOff.append((due: now + delay, attempt: next))
        return []
    }

    private mutating func reject(_ attempt: Attempt, _ answer: HTTPAnswer, now: Double) -> [Action] {
        let request = attempt.request
        var out = ByteBuffer(capacity: 1024)
        for sequence in request.sequences {
            guard let record = records[sequence] else { continue }
            RejectedRecordEncoder.append(record, sequence: sequence, reason: "rejected_by_nudge", status: answer.status,
                                         response: answer.body, attempts: attempt.number, to: &out)
        }
        scheduler.rejected(request.id)
        forget(request.sequences)
        tally.rejected += request.sequences.count
        checkpoint.rejected += request.sequences.count
        checkpoint.rejectedBytes += out.count
        noteAnswer(now: now)
        return [.writeRejected(out.bytes)]
    }

    private mutating func forget(_ sequences: [Int]) {
        for sequence in sequences { records[sequence] = nil }
    }

    private mutating func noteAnswer(now: Double) {
        unsavedAnswers += 1
        if firstUnsavedAt == nil { firstUnsavedAt = now }
    }

    private mutating func stop(_ end: ReplayEnd) {
        guard stopping == nil else { return }
        stopping = end
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
            if !reading && !readerAtEnd && scheduler.wantsRecords {
                reading = true
                actions.append(.read(upTo: min(scheduler.room, 4096)))
            }
            actions += startAttempts(now: now, wake: wake)
        }

        // Group commit; a finishing replay saves whatever is unsaved.
        let ending = onWire.isEmpty && (stopping != nil || (readerAtEnd && !reading && scheduler.isIdle))
        if unsavedAnswers > 0 {
            // One expression for "due", compared and waited for alike, so rounding can
            // never ask for a wake that then finds nothing due.
            let due = (firstUnsavedAt ?? now) + configuration.checkpointEverySeconds
            if ending || unsavedAnswers >= configuration.checkpointEveryAnswers || now >= due {
                actions.append(.saveCheckpoint(saveableCheckpoint()))
            } else {
                wake(due)
            }
        }
        if ending {
            finished = true
            actions.append(.finish(stopping ?? .delivered))
            return actions
        }
        // With nothing in flight the scheduler always has a request to form; if it has
        // not, stop rather than hang.
        if stopping == nil && onWire.isEmpty && backingOff.isEmpty && !reading && wakeAt == nil && readerAtEnd
            && !scheduler.isIdle {
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
        let interval = configuration.maxRequestsPerSecond.map { 1 / $0 } ?? 0
        while onWire.count < concurrency.current {
            let due = backingOff.indices.filter { backingOff[$0].due <= now }.min { backingOff[$0].due < backingOff[$1].due }
            let hasWork = due != nil || scheduler.hasWaiting
            guard hasWork else { break }
            if now < pausedUntil { wake(pausedUntil); break }
            if now < nextStartAt { wake(nextStartAt); break }
            var attempt: Attempt
            if let due {
                attempt = backingOff.remove(at: due).attempt
                tally.retries += 1
            } else {
                switch scheduler.next() {
                case .send(let request):
                    attempt = Attempt(request: request, outgoing: outgoing(for: request), number: 1, firstSentAt: now, sentAt: now)
                    tally.requests += 1
                    tally.sent += request.sequences.count
                case .rejectWithoutRequest(let sequences):
                    actions.append(rejectWithoutRequest(sequences, now: now))
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
            if interval > 0 { nextStartAt = max(now, nextStartAt) + interval }
        }
        wakeForBackoff(now: now, wake)
        return actions
    }

    /// A retry still backing off needs a wake when it comes due; one already due waits
    /// for a free slot, which only an answer brings.
    private func wakeForBackoff(now: Double, _ wake: (Double) -> Void) {
        if let next = backingOff.lazy.map(\.due).filter({ $0 > now }).min() { wake(next) }
    }

    private mutating func rejectWithoutRequest(_ sequences: [Int], now: Double) -> Action {
        var out = ByteBuffer(capacity: 1024)
        for sequence in sequences {
            guard let record = records[sequence] else { continue }
            RejectedRecordEncoder.append(record, sequence: sequence, reason: "identify_rejected", status: nil, response: [],
                                         attempts: 0, to: &out)
        }
        scheduler.markRejectedWithoutRequest(sequences)
        forget(sequences)
        tally.rejected += sequences.count
        checkpoint.rejected += sequences.count
        checkpoint.rejectedBytes += out.count
        noteAnswer(now: now)
        return .writeRejected(out.bytes)
    }

    private mutating func saveableCheckpoint() -> ReplayCheckpoint {
        checkpoint.watermark = scheduler.watermark
        checkpoint.done = scheduler.doneAfterWatermark
        checkpoint.requeued = scheduler.requeued
        checkpoint.rejectedUsers = scheduler.rejectedUsers
        unsavedAnswers = 0
        firstUnsavedAt = nil
        return checkpoint
    }

    // MARK: - Requests

    /// The HTTP request for a scheduled delivery: `PUT {endpoint}/identify` with one
    /// body, or `POST {endpoint}/events/batch` with an array of bodies. Its
    /// idempotency key depends only on the records it carries, so every attempt and
    /// every replay of the same records carries the same key.
    func outgoing(for request: DeliveryRequest) -> OutgoingRequest {
        let carried = request.sequences.compactMap { records[$0] }
        var body: [UInt8] = []
        if request.kind == .identify {
            body = carried.first?.body ?? []
        } else {
            body.reserveCapacity(carried.reduce(2) { $0 + $1.body.count + 1 })
            body.append(0x5B)
            for (i, record) in carried.enumerated() {
                if i > 0 { body.append(0x2C) }
                body += record.body
            }
            body.append(0x5D)
        }
        var hasher = ContentHasher()
        for record in carried {
            var id = record.messageID ?? "spool:\(record.commit):\(record.line)"
            id += "\n"
            id.withUTF8 { hasher.update(UnsafeRawBufferPointer($0)) }
        }
        let key = hasher.hexDigest
        let base = configuration.endpoint.hasSuffix("/") ? String(configuration.endpoint.dropLast()) : configuration.endpoint
        return OutgoingRequest(
            method: request.kind == .identify ? "PUT" : "POST",
            url: base + (request.kind == .identify ? "/identify" : "/events/batch"),
            headers: [("apikey", configuration.apiKey), ("p", "17"), ("Content-Type", "application/json"),
                      ("Idempotency-Key", key), ("idempotent-key", key), ("User-Agent", "nudge-ingest/\(NudgeIngestVersion.current)")],
            body: body, records: request.sequences.count)
    }
}

/// The tool's version, in `--version` and the `User-Agent` replay sends.
package enum NudgeIngestVersion {
    package static let current = "0.14.0"
}

/// A rejected record: `SPOOL/rejected/rejected.ndjson` (`schemas/rejected-record.schema.json`).
enum RejectedRecordEncoder {
    static func append(
        _ record: AcceptedRecord, sequence: Int, reason: String, status: Int?, response: [UInt8], attempts: Int,
        to out: inout ByteBuffer
    ) {
        out.append(utf8: "{\"reason\":\"\(reason)\",\"status\":")
        if let status { JSONOutput.appendDecimal(status, to: &out) } else { out.append("null") }
        out.append(utf8: ",\"response\":")
        response.withUnsafeBytes { JSONOutput.appendStringRepairingUTF8($0, to: &out) }
        out.append(utf8: ",\"attempts\":\(attempts),\"kind\":\"\(record.record.kind == .identify ? "identify" : "track")\"")
        out.append(utf8: ",\"message_id\":")
        if let id = record.messageID { out.append(utf8: "\"\(id)\"") } else { out.append("null") }
        out.append(utf8: ",\"accepted\":{\"commit\":\(record.commit),\"line\":\(record.line),\"sequence\":\(sequence)},\"body\":")
        out.append(record.body)
        out.append(utf8: "}\n")
    }
}
