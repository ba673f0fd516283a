import ArgumentParser
import Dispatch
import NudgeIngest
import NudgeRendering
import NudgeReplayHTTP
import NudgeSystem

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Deliver the accepted spool to Nudge's API, in order, resuming where it stopped.",
        discussion: """
            Reads SPOOL/accepted/ in spool order, as far as the ledger has committed, and
            sends every record: each identify alone (PUT {endpoint}/identify), tracks in
            batches (POST {endpoint}/events/batch) of up to --batch-size records and
            --batch-bytes bytes, with the headers apikey, p: 17, Content-Type, User-Agent
            and an Idempotency-Key (also sent as idempotent-key) derived from the
            records' messageIds, the same on every attempt and every replay.

              NUDGE_API_KEY=… nudge-ingest replay --spool spool --dry-run
              NUDGE_API_KEY=… nudge-ingest replay --spool spool

            Order: a user's records arrive in spool order, so no track is sent before
            its user's identify has been acknowledged, however many are in flight.

            Answers:
              2xx                           acknowledged
              408 423 429 5xx, timeouts,    retried with backoff and jitter (Retry-After
              broken connections            pauses every request); 429, 503 and timeouts
                                            also lower the number in flight
              400 409 410 422               Nudge judged the records: they go to
                                            SPOOL/rejected/rejected.ndjson.gz
              413                           the batch is halved and sent again (a single
                                            record answered 413 is rejected)
              401 403                       the API key was refused: stop, exit 1
              404 405                       before that route ever answered 2xx: a wrong
                                            --endpoint, stop, exit 1 (later: retried)
              no connection (refused, no    before the endpoint ever answered: stop,
              such host, TLS failed)        exit 1 (later: retried)
              anything else (3xx, 501, 505) stop, exit 1
            A stop consumes nothing: the records of the refused requests stay to send.
            When a request's retries are spent (--max-attempts, --max-retry-seconds) the
            replay stops with exit 2; run it again to continue.

            Destination: the spool's replay progress belongs to one endpoint and API
            key (kept as a fingerprint, never the key). A replay to another one, or of
            a spool that was started over, is refused with exit 1 and nothing sent.
            --switch-destination keeps the current destination's progress apart and
            delivers the whole spool to the new one (or resumes its own progress).

            Speed: up to --concurrency requests in flight (default 32); the number grows
            while answers are clean and fast and is halved on 429, 503 and timeouts.

            Progress: SPOOL/replay/checkpoint.json is group-committed (fsync'd) at least
            every 200 ms and every 1,000 answers, and when the replay ends. A replay
            killed at any instant resumes from it: what it sends again is at most the
            requests answered in the last 200 ms (or 1,000 answers) before the kill plus
            those in flight, each under its same Idempotency-Key. Ctrl-C stops starting
            requests, waits for those in flight (at most --timeout), saves, prints the
            summary and exits 130; a second Ctrl-C stops at once. One replay at a time
            per spool. `nudge-ingest requeue` puts rejected records back.

            The API key comes from --api-key or NUDGE_API_KEY and never appears in
            output, logs or spool files.

            Exit status: 0 everything read was acknowledged or rejected; 1 usage or
            configuration error (key refused, wrong or unreachable endpoint, another
            destination's or spool's progress), or the spool could not be read or
            written; 2 stopped early (retries spent): run replay again to
            continue; 130 interrupted.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The spool to deliver.", valueName: "DIR"))
    var spool: String = "spool"

    @Option(name: .long, help: ArgumentHelp("Nudge's base URL.", valueName: "URL"))
    var endpoint: String = ReplayConfiguration().endpoint

    @Option(name: .long, help: ArgumentHelp("Nudge API key (default: $NUDGE_API_KEY).", valueName: "KEY"))
    var apiKey: String?

    @Option(name: .long, help: ArgumentHelp("Requests in flight at most; the number adapts below it.", valueName: "N"))
    var concurrency: Int = 32

    @Flag(name: .long, help: "Keep exactly --concurrency requests in flight instead of adapting.")
    var fixedConcurrency = false

    @Option(name: .long, help: ArgumentHelp("Tracks per batch request, at most.", valueName: "N"))
    var batchSize: Int = DeliveryLimits().batchCount

    @Option(name: .long, help: ArgumentHelp("Body bytes per batch request, at most (a bigger track goes alone).", valueName: "N"))
    var batchBytes: Int = DeliveryLimits().batchBytes

    @Option(name: .long, help: ArgumentHelp("Request starts per second, at most (default: no limit).", valueName: "R"))
    var maxRps: Double?

    @Option(name: .long, help: ArgumentHelp("Attempts per request, the first included.", valueName: "N"))
    var maxAttempts: Int = 8

    @Option(name: .long, help: ArgumentHelp("Stop retrying a request this long after its first attempt.", valueName: "SECONDS"))
    var maxRetrySeconds: Double = 600

    @Option(name: .long, help: ArgumentHelp("Seconds a request may take before it is retried.", valueName: "SECONDS"))
    var timeout: Double = 10

    @Flag(name: .long, help: "Say how many records and requests would be sent, and where; send and save nothing.")
    var dryRun = false

    @Flag(name: .long, help: "With --dry-run, also print every request (headers, API key redacted, and body).")
    var verbose = false

    @Flag(name: .long, help: ArgumentHelp(
        "Deliver to this --endpoint and key although the spool's progress is another destination's: that progress is kept apart, and this destination resumes its own or starts from the first record."))
    var switchDestination = false

    @Flag(name: .long, help: ArgumentHelp(
        "Take a checkpoint written before destinations were recorded as this destination's progress (only if that replay went here)."))
    var adoptCheckpoint = false

    @Flag(name: .long, help: "Print the replay summary as JSON on standard output.")
    var json = false

    func validate() throws {
        guard builtWithHTTP else {
            throw ValidationError("This nudge-ingest was built without its HTTP trait (--disable-default-traits), so it cannot replay; build it with the default traits.")
        }
        guard concurrency >= 1 && concurrency <= 256 else { throw ValidationError("--concurrency must be between 1 and 256.") }
        guard batchSize >= 1 && batchSize <= 10_000 else { throw ValidationError("--batch-size must be between 1 and 10000.") }
        guard batchBytes >= 1024 else { throw ValidationError("--batch-bytes must be at least 1024.") }
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1.") }
        guard maxRps.map({ $0 > 0 }) ?? true else { throw ValidationError("--max-rps must be above 0.") }
        guard timeout > 0, maxRetrySeconds >= 0 else { throw ValidationError("--timeout and --max-retry-seconds must be positive.") }
        guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
            throw ValidationError("--endpoint must be an http:// or https:// URL.")
        }
        guard !verbose || dryRun else { throw ValidationError("--verbose goes with --dry-run: it prints the requests a dry run would send.") }
        guard dryRun || !resolvedKey.isEmpty else {
            throw ValidationError("Give the Nudge API key with --api-key or the NUDGE_API_KEY environment variable.")
        }
    }

    var resolvedKey: String {
        apiKey ?? CurrentProcess.environment("NUDGE_API_KEY") ?? ""
    }

    #if HTTP
    func run() async throws {
        var configuration = ReplayConfiguration()
        configuration.endpoint = endpoint
        configuration.apiKey = resolvedKey
        configuration.keyFingerprint = ReplayDestination(endpoint: endpoint, apiKey: resolvedKey).keyFingerprint
        configuration.concurrency = concurrency
        configuration.fixedConcurrency = fixedConcurrency
        configuration.limits.batchCount = batchSize
        configuration.limits.batchBytes = batchBytes
        configuration.maxRequestsPerSecond = maxRps
        configuration.retry.maxAttempts = maxAttempts
        configuration.retry.maxTotalSeconds = maxRetrySeconds
        let progress = FileDescriptor.standardError.isTerminal && !dryRun ? ProgressLine() : nil
        let transport = HTTPClientTransport(timeoutSeconds: timeout, connections: concurrency)
        let interrupts = Interrupts(progress: progress, timeout: timeout)
        var replay = Replay(spool: spool, configuration: configuration, dryRun: dryRun)
        replay.switchDestination = switchDestination
        replay.adoptCheckpoint = adoptCheckpoint
        let printRequest: @Sendable (OutgoingRequest) -> Void = { request in
            var text = "\(request.method) \(request.url)\n"
            for header in request.redactedHeaders { text += "\(header.name): \(header.value)\n" }
            text += String(decoding: request.body, as: UTF8.self) + "\n\n"
            FileStream.standardOutput.write(text)
        }
        let summary: ReplaySummary
        do {
            summary = try await replay.run(
                transport: transport, interrupts: interrupts.stream, printRequest: verbose ? printRequest : nil,
                progress: progress.map { line in { line.show($0.line(width: ProgressLine.width)) } })
        } catch {
            await transport.shutdown()
            throw fail(error, progress: progress)
        }
        await transport.shutdown()
        try finish(report: summary.report, json: json ? summary.json : nil, exitStatus: summary.exitStatus,
                   progress: progress)
    }
    #else
    func run() async throws {
        preconditionFailure("validate() refuses replay without the HTTP trait")
    }
    #endif
}

/// Ctrl-C while a replay runs: the first is handed to the replay (it stops starting
/// requests and finishes those in flight); a second ends the process at once, which
/// the checkpoint is made for.
final class Interrupts {
    let stream: AsyncStream<Void>
    private let source: any DispatchSourceSignal

    init(progress: ProgressLine?, timeout: Double) {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        self.stream = stream
        // Only the source's serial handler touches the count.
        nonisolated(unsafe) var count = 0
        source = CurrentProcess.handleInterrupts {
            count += 1
            if count == 1 {
                progress?.clear()
                FileStream.standardError.write("interrupted: finishing the requests in flight (at most "
                                               + "\(Int(timeout.rounded(.up))) s) and saving; Ctrl-C again stops at once\n")
                continuation.yield(())
            } else {
                FileStream.standardError.write("stopped at once; the last checkpoint holds: run the same command to continue\n")
                CurrentProcess.exitImmediately(130)
            }
        }
    }

    deinit {
        source.cancel()
    }
}
