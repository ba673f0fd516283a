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
