#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Settings of one `nudge-ingest replay`.
public struct ReplayOptions: Sendable {
    public var spool = "spool"
    /// The base URL; requests go to `{endpoint}/identify` and `{endpoint}/events/batch`.
    public var endpoint = "https://main-api.nudgenow.com/api/integration/segment"
    public var apiKey = ""
    public var limits = DeliveryLimits()
    public var retry = RetryPolicy()
    /// Request starts per second, at most (`--max-rps`).
    public var maxRequestsPerSecond: Double?
    /// Print the requests instead of sending them; nothing is saved.
    public var dryRun = false

    public init() {}
}

/// Why a replay stopped before delivering everything.
public enum ReplayError: Error, Sendable, CustomStringConvertible {
    case spool(SpoolError)
    case reading(AcceptedSpoolReader.Failure)

    public var description: String {
        switch self {
        case .spool(let error): "\(error)"
        case .reading(let error): "\(error)"
        }
    }
}

/// Where a replay stands, for a progress line.
public struct ReplayProgress: Sendable {
    public var acknowledged: Int
    public var rejected: Int
    public var inFlight: Int
    public var retries: Int
    public var elapsedSeconds: Double

    public var line: String {
        let rate = elapsedSeconds > 0 ? Int(Double(acknowledged) / elapsedSeconds) : 0
        return "\(group(acknowledged)) acknowledged · \(group(rejected)) rejected · \(inFlight) in flight · "
            + "\(group(retries)) retries · \(group(rate)) records/s"
    }
}

/// Delivers the accepted spool to Nudge: reads it in order from where the checkpoint
/// stands, lets the ``DeliveryScheduler`` form requests, sends them (at most
/// `concurrency` at a time, retried per ``RetryPolicy``), writes rejected records to
/// `SPOOL/rejected/`, and saves the checkpoint after every answer.
public struct Replay {
    public var options: ReplayOptions

    public init(options: ReplayOptions) {
        self.options = options
    }

    /// What the sending tasks report back.
    private struct Outcome: Sendable {
        var request: DeliveryRequest
        var answer: HTTPAnswer
        var verdict: RetryPolicy.Verdict
        var attempts: Int
        var latencies: [Double]
    }

    public func run(
        transport: ReplayTransport, printRequest: (@Sendable (OutgoingRequest) -> Void)? = nil,
        progress: ((ReplayProgress) -> Void)? = nil
    ) async throws(ReplayError) -> ReplaySummary {
        let started = Clock.now
        var summary = ReplaySummary(spool: options.spool, endpoint: options.endpoint, dryRun: options.dryRun)
        let store: ReplayStore?
        let ledger: Ledger
        do {
            ledger = try Ledger.committed(inSpool: options.spool)
            store = options.dryRun ? nil : try ReplayStore(spool: options.spool)
        } catch {
            throw .spool(error)
        }
        let saved = store?.checkpoint ?? ReplayCheckpoint()
        var scheduler = DeliveryScheduler(limits: options.limits, watermark: saved.watermark, done: saved.done,
                                          rejectedUsers: saved.rejectedUsers)
        var reader = AcceptedSpoolReader(spool: options.spool, ledger: ledger)
        do { try reader.skip(to: saved.watermark) } catch { throw .reading(error) }
        var records: [Int: AcceptedRecord] = [:]
        var readerDone = false
        let pacer = RequestPacer(perSecond: options.maxRequestsPerSecond)
        let options = self.options
        var stopReason: String?
        var failure: ReplayError?
        var lastProgress = started

        func save(acknowledged: Int, rejected: Int) throws(ReplayError) {
            do {
                try store?.save(watermark: scheduler.watermark, done: scheduler.doneAfterWatermark,
                                rejectedUsers: scheduler.rejectedUsers, acknowledged: acknowledged, rejected: rejected)
            } catch {
                throw .spool(error)
            }
        }

        func reject(_ sequences: [Int], reason: String, status: Int?, response: [UInt8], attempts: Int) throws(ReplayError) {
            var out = ByteBuffer(capacity: 1024)
            for sequence in sequences {
                guard let record = records[sequence] else { continue }
                RejectedRecordEncoder.append(record, reason: reason, status: status, response: response,
                                             attempts: attempts, to: &out)
            }
            if !options.dryRun {
                do { try store?.appendRejected(out.bytes) } catch { throw .spool(error) }
            }
            summary.rejected += sequences.count
        }

        await withTaskGroup(of: Outcome.self) { group in
            var inFlight = 0
            func fill() throws(ReplayError) {
                while scheduler.wantsRecords && !readerDone {
                    do {
                        guard let next = try reader.next() else { readerDone = true; break }
                        if scheduler.enqueue(next.record) { records[next.record.sequence] = next }
                    } catch {
                        throw .reading(error)
                    }
                }
            }
            do throws(ReplayError) {
                while true {
                    try fill()
                    if let progress, Clock.now - lastProgress >= 0.2 {
                        lastProgress = Clock.now
                        progress(ReplayProgress(acknowledged: summary.acknowledged, rejected: summary.rejected,
                                                inFlight: inFlight, retries: summary.retries,
                                                elapsedSeconds: lastProgress - started))
                    }
                    let step: DeliveryScheduler.Step = stopReason == nil ? scheduler.next() : .wait
                    switch step {
                    case .send(let request):
                        let outgoing = Self.request(for: request, records: records, options: options)
                        inFlight += 1
                        summary.requests += 1
                        summary.sent += request.sequences.count
                        if options.dryRun {
                            printRequest?(outgoing)
                            group.addTask {
                                Outcome(request: request, answer: HTTPAnswer(status: 200), verdict: .acknowledged,
                                        attempts: 1, latencies: [])
                            }
                        } else {
                            group.addTask { await Self.deliver(request, outgoing, transport, options.retry, pacer) }
                        }
                    case .rejectWithoutRequest(let sequences):
                        try reject(sequences, reason: "identify_rejected", status: nil, response: [], attempts: 0)
                        scheduler.markRejectedWithoutRequest(sequences)
                        for sequence in sequences { records[sequence] = nil }
                        try save(acknowledged: 0, rejected: sequences.count)
                    case .wait:
                        guard let outcome = await group.next() else {
                            if stopReason == nil && !(readerDone && scheduler.isIdle) {
                                // The scheduler always has a request to form when nothing is in flight.
                                stopReason = "no request could be formed with nothing in flight (please report this)"
                            }
                            return
                        }
                        inFlight -= 1
                        summary.latencies += outcome.latencies
                        summary.retries += outcome.attempts - 1
                        let request = outcome.request
                        switch outcome.verdict {
                        case .acknowledged:
                            scheduler.acknowledged(request.id)
                            summary.acknowledged += request.sequences.count
                            try save(acknowledged: request.sequences.count, rejected: 0)
                        case .permanent:
                            try reject(request.sequences, reason: "rejected_by_nudge", status: outcome.answer.status,
                                       response: outcome.answer.body, attempts: outcome.attempts)
                            scheduler.rejected(request.id)
                            try save(acknowledged: 0, rejected: request.sequences.count)
                        case .transient:
                            // Retries are spent: stop sending, let what is in flight finish, and
                            // leave these records to the next replay.
                            scheduler.abandon(request.id)
                            let what = outcome.answer.status.map { "HTTP \($0)" } ?? outcome.answer.failure ?? "no answer"
                            stopReason = stopReason ?? "gave up after \(outcome.attempts) attempts (\(what))"
                        }
                        for sequence in request.sequences where outcome.verdict != .transient { records[sequence] = nil }
                    }
                }
            } catch {
                failure = error
                stopReason = stopReason ?? "stopped: \(error)"
                group.cancelAll()
                while await group.next() != nil {}
            }
        }
        if let failure { throw failure }
        summary.stopReason = stopReason
        summary.remaining = scheduler.pendingCount
        summary.elapsedSeconds = Clock.now - started
        if let store {
            summary.totalAcknowledged = store.checkpoint.acknowledged
            summary.totalRejected = store.checkpoint.rejected
        }
        return summary
    }

    /// Sends one request until it is answered for good, retries spent, or time is up.
    private static func deliver(
        _ request: DeliveryRequest, _ outgoing: OutgoingRequest, _ transport: ReplayTransport,
        _ policy: RetryPolicy, _ pacer: RequestPacer
    ) async -> Outcome {
        let first = Clock.now
        var attempt = 0
        var latencies: [Double] = []
        var generator = SystemRandomNumberGenerator()
        while true {
            attempt += 1
            await pacer.waitForTurn()
            let sent = Clock.now
            let answer = await transport.send(outgoing)
            latencies.append(Clock.now - sent)
            let verdict = RetryPolicy.verdict(status: answer.status)
            guard verdict == .transient else {
                return Outcome(request: request, answer: answer, verdict: verdict, attempts: attempt, latencies: latencies)
            }
            let retryAfter = answer.retryAfter.flatMap { RetryPolicy.retryAfterSeconds($0, now: Timestamp.now.secondsSinceEpoch) }
            let delay = policy.delay(afterAttempt: attempt, retryAfter: retryAfter,
                                     random: Double.random(in: 0...1, using: &generator))
            guard policy.shouldRetry(afterAttempt: attempt, elapsed: Clock.now - first, delay: delay),
                  !Task.isCancelled else {
                return Outcome(request: request, answer: answer, verdict: .transient, attempts: attempt, latencies: latencies)
            }
            try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
        }
    }

    /// The HTTP request for a scheduled delivery: `PUT {endpoint}/identify` with one
    /// body, or `POST {endpoint}/events/batch` with an array of bodies.
    static func request(for request: DeliveryRequest, records: [Int: AcceptedRecord], options: ReplayOptions) -> OutgoingRequest {
        let carried = request.sequences.compactMap { records[$0] }
        var body: [UInt8] = []
        if request.kind == .identify {
            body = carried.first?.body ?? []
        } else {
            body.append(0x5B)
            for (i, record) in carried.enumerated() {
                if i > 0 { body.append(0x2C) }
                body += record.body
            }
            body.append(0x5D)
        }
        // The same records always give the same key, whatever the attempt or the replay.
        var hasher = ContentHasher()
        for record in carried {
            var id = record.messageID ?? "spool:\(record.commit):\(record.line)"
            id += "\n"
            id.withUTF8 { hasher.update(UnsafeRawBufferPointer($0)) }
        }
        let base = options.endpoint.hasSuffix("/") ? String(options.endpoint.dropLast()) : options.endpoint
        return OutgoingRequest(
            method: request.kind == .identify ? "PUT" : "POST",
            url: base + (request.kind == .identify ? "/identify" : "/events/batch"),
            headers: [("apikey", options.apiKey), ("p", "17"), ("Content-Type", "application/json"),
                      ("Idempotency-Key", hasher.hexDigest)],
            body: body)
    }
}

/// A rejected record: `SPOOL/rejected/rejected.ndjson` (`schemas/rejected-record.schema.json`).
enum RejectedRecordEncoder {
    static func append(
        _ record: AcceptedRecord, reason: String, status: Int?, response: [UInt8], attempts: Int, to out: inout ByteBuffer
    ) {
        out.append(utf8: "{\"reason\":\"\(reason)\",\"status\":")
        if let status { JSONOutput.appendDecimal(status, to: &out) } else { out.append("null") }
        out.append(utf8: ",\"response\":")
        response.withUnsafeBytes { JSONOutput.appendStringRepairingUTF8($0, to: &out) }
        out.append(utf8: ",\"attempts\":\(attempts),\"kind\":\"\(record.record.kind == .identify ? "identify" : "track")\"")
        out.append(utf8: ",\"message_id\":")
        if let id = record.messageID { out.append(utf8: "\"\(id)\"") } else { out.append("null") }
        out.append(utf8: ",\"accepted\":{\"commit\":\(record.commit),\"line\":\(record.line)},\"body\":")
        out.append(record.body)
        out.append(utf8: "}\n")
    }
}
