import ArgumentParser
import NudgeIngest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Deliver the accepted spool to Nudge's API, in order, resuming where it stopped.",
        discussion: """
            Reads SPOOL/accepted/ in spool order, as far as the ledger has committed, and
            sends every record: each identify alone (PUT {endpoint}/identify), tracks in
            batches (POST {endpoint}/events/batch), with the headers apikey, p: 17,
            Content-Type: application/json and an Idempotency-Key derived from the
            records' messageIds.

            Order: a user's records arrive in spool order, so no track is sent before
            its user's identify has been acknowledged, even with --concurrency above 1.

            Failures: 429, 5xx, 408, timeouts and connection errors are retried with
            exponential backoff and jitter, honouring Retry-After (seconds or an HTTP
            date), up to --max-attempts per request and --max-retry-seconds. Other
            answers are permanent: those records go to SPOOL/rejected/rejected.ndjson
            with the status, the response body (first 2 KB) and the attempt count, and
            the later tracks of a user whose identify was rejected go there too. When a
            request's retries are spent the replay stops (exit 2) and nothing is skipped:
            run it again to continue.

            Progress: SPOOL/replay/checkpoint.json is saved after every answer, so a
            replay killed at any instant resumes where it stopped; only requests in
            flight at the kill can be sent twice. Records that later runs add are
            delivered by the next replay. One replay at a time per spool.

            The API key comes from --api-key or NUDGE_API_KEY and never appears in
            output, logs or spool files.

            Exit status: 0 everything read was acknowledged or rejected; 1 usage or
            configuration error, or the spool could not be read or written; 2 stopped
            early (retries spent): run replay again to continue.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The spool to deliver.", valueName: "DIR"))
    var spool: String = "spool"

    @Option(name: .long, help: ArgumentHelp("Nudge's base URL.", valueName: "URL"))
    var endpoint: String = "https://main-api.nudgenow.com/api/integration/segment"

    @Option(name: .long, help: ArgumentHelp("Nudge API key (default: $NUDGE_API_KEY).", valueName: "KEY"))
    var apiKey: String?

    @Option(name: .long, help: ArgumentHelp("Requests in flight at once.", valueName: "N"))
    var concurrency: Int = 4

    @Option(name: .long, help: ArgumentHelp("Tracks per batch request, at most.", valueName: "N"))
    var batchSize: Int = 100

    @Option(name: .long, help: ArgumentHelp("Body bytes per batch request, at most (a bigger track goes alone).", valueName: "N"))
    var batchBytes: Int = 512 << 10

    @Option(name: .long, help: ArgumentHelp("Request starts per second, at most (default: no limit).", valueName: "R"))
    var maxRps: Double?

    @Option(name: .long, help: ArgumentHelp("Attempts per request, the first included.", valueName: "N"))
    var maxAttempts: Int = 8

    @Option(name: .long, help: ArgumentHelp("Stop retrying a request this long after its first attempt.", valueName: "SECONDS"))
    var maxRetrySeconds: Double = 600

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for an answer before retrying.", valueName: "SECONDS"))
    var timeout: Double = 30

    @Flag(name: .long, help: "Print the requests that would be sent (API key redacted); send nothing, save nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Print the replay summary as JSON on standard output.")
    var json = false

    func validate() throws {
        guard concurrency >= 1 && concurrency <= 64 else { throw ValidationError("--concurrency must be between 1 and 64.") }
        guard batchSize >= 1 && batchSize <= 10_000 else { throw ValidationError("--batch-size must be between 1 and 10000.") }
        guard batchBytes >= 1024 else { throw ValidationError("--batch-bytes must be at least 1024.") }
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1.") }
        guard maxRps.map({ $0 > 0 }) ?? true else { throw ValidationError("--max-rps must be above 0.") }
        guard timeout > 0, maxRetrySeconds >= 0 else { throw ValidationError("--timeout and --max-retry-seconds must be positive.") }
        guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
            throw ValidationError("--endpoint must be an http:// or https:// URL.")
        }
        guard dryRun || !resolvedKey.isEmpty else {
            throw ValidationError("Give the Nudge API key with --api-key or the NUDGE_API_KEY environment variable.")
        }
    }

    var resolvedKey: String {
        apiKey ?? getenv("NUDGE_API_KEY").map { String(cString: $0) } ?? ""
    }

    func run() async throws {
        var options = ReplayOptions()
        options.spool = spool
        options.endpoint = endpoint
        options.apiKey = resolvedKey
        options.limits.concurrency = concurrency
        options.limits.batchCount = batchSize
        options.limits.batchBytes = batchBytes
        options.maxRequestsPerSecond = maxRps
        options.retry.maxAttempts = maxAttempts
        options.retry.maxTotalSeconds = maxRetrySeconds
        options.dryRun = dryRun
        let progress = isatty(STDERR_FILENO) != 0 && !dryRun ? ProgressLine() : nil
        let summary: ReplaySummary
        do {
            summary = try await Replay(options: options).run(
                transport: URLSessionTransport(timeoutSeconds: timeout, concurrency: concurrency),
                printRequest: { request in
                    var text = "\(request.method) \(request.url)\n"
                    for header in request.redactedHeaders { text += "\(header.name): \(header.value)\n" }
                    text += String(decoding: request.body, as: UTF8.self) + "\n\n"
                    FileStream.standardOutput.write(text)
                },
                progress: progress.map { line in { line.show($0.line) } })
        } catch {
            throw fail(error, progress: progress)
        }
        try finish(report: summary.report, json: json ? summary.json : nil, exitStatus: summary.exitStatus,
                   progress: progress)
    }
}
