/// Settings of one `nudge-ingest replay`.
public struct ReplayConfiguration: Sendable {
    /// The base URL; requests go to `{endpoint}/identify` and `{endpoint}/events/batch`.
    public var endpoint = "https://main-api.nudgenow.com/api/integration/segment"
    /// The Nudge API key, sent in each request's `apikey` header (`--api-key`, else `$NUDGE_API_KEY`).
    public var apiKey = ""
    /// A one-way fingerprint of ``apiKey`` (the HTTP shell makes it with SHA-256): with
    /// the endpoint, it names the destination the spool's progress belongs to.
    package var keyFingerprint = ""
    package var limits = DeliveryLimits()
    package var retry = RetryPolicy()
    /// Requests in flight at most (`--concurrency`, default 32); the number in flight
    /// adapts below it (``ConcurrencyLimit``) unless `fixedConcurrency`.
    public var concurrency = 32
    /// Keep exactly `concurrency` requests in flight instead of adapting (`--fixed-concurrency`).
    public var fixedConcurrency = false
    /// Request starts per second, at most (`--max-rps`).
    public var maxRequestsPerSecond: Double?
    /// Group commit: the checkpoint is saved once this many answers are unsaved, or
    /// once the oldest unsaved answer is this old, whichever comes first.
    package var checkpointEveryAnswers = 1000
    package var checkpointEverySeconds = 0.2

    /// The defaults of `nudge-ingest replay`, with an empty API key.
    public init() {}
}
