import NudgeCore

/// The outcome of `nudge-ingest replay` (`schemas/replay-summary.schema.json`); its
/// text for a person is `NudgeRendering`'s.
public struct ReplaySummary: Sendable {
    /// The spool directory delivered from.
    public var spool: String
    /// The base URL delivered to.
    public var endpoint: String
    /// Nothing was sent: the counts say what would be.
    public var dryRun: Bool
    package var tally = ReplayTally()
    /// How the replay ended: everything delivered, interrupted, or stopped early.
    public var end = ReplayEnd.delivered
    /// Records still to deliver when the replay started.
    public var total = 0
    /// Records of `total` not answered (acknowledged or rejected) when it stopped.
    package var remaining = 0
    /// Wall-clock duration of the replay, in seconds.
    public var elapsedSeconds = 0.0
    /// Totals over every replay of this spool, from the checkpoint.
    public var totalAcknowledged = 0
    /// Records in the rejected spool now: rejected over every replay to this destination,
    /// less those `requeue` put back.
    public var totalRejected = 0

    package init(spool: String, endpoint: String, dryRun: Bool) {
        self.spool = spool
        self.endpoint = endpoint
        self.dryRun = dryRun
    }

    /// Why the replay stopped early; nil when it delivered everything.
    public var stopReason: String? {
        switch end {
        case .delivered: nil
        case .interrupted: "interrupted"
        case .stopped(let reason, _): reason
        }
    }

    /// 0 everything read was answered (acknowledged or rejected); 1 an operator's
    /// mistake (key, endpoint) stopped it with nothing consumed; 2 retries were spent:
    /// run `replay` again to continue; 130 interrupted.
    public var exitStatus: Int32 {
        switch end {
        case .delivered: 0
        case .interrupted: 130
        case .stopped(_, let status): status
        }
    }

    package func latency(percentile: Double) -> Double? {
        guard !tally.latencies.isEmpty else { return nil }
        let sorted = tally.latencies.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * percentile).rounded(.up)) - 1)]
    }

    /// The `--json` document (`schemas/replay-summary.schema.json`).
    public var json: String {
        let seconds = max(elapsedSeconds, 1e-9)
        var json = JSONWriter()
        json.beginObject()
        json.value("spool", spool)
        json.value("endpoint", endpoint)
        json.value("dry_run", dryRun)
        json.value("total", total)
        json.value("requests", tally.requests)
        json.value("sent", tally.sent)
        json.value("acknowledged", tally.acknowledged)
        json.value("rejected", tally.rejected)
        json.value("retries", tally.retries)
        json.value("splits", tally.splits)
        json.value("remaining", remaining)
        json.value("stopped", stopReason)
        json.value("requests_per_second", dryRun ? nil : Double(tally.requests) / seconds, decimals: 1)
        json.value("records_per_second", dryRun ? nil : Double(tally.acknowledged + tally.rejected) / seconds, decimals: 1)
        json.beginObject("latency_ms")
        json.value("p50", latency(percentile: 0.5).map { $0 * 1000 }, decimals: 1)
        json.value("p99", latency(percentile: 0.99).map { $0 * 1000 }, decimals: 1)
        json.endObject()
        json.beginObject("concurrency")
        json.value("peak", tally.peakConcurrency)
        json.value("final", tally.concurrency)
        json.endObject()
        json.value("total_acknowledged", totalAcknowledged)
        json.value("total_rejected", totalRejected)
        json.value("elapsed_seconds", elapsedSeconds, decimals: 3)
        json.value("exit_status", Int(exitStatus))
        json.endObject()
        return json.text
    }
}
