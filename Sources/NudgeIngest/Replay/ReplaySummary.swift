import NudgeCore

/// The outcome of `nudge-ingest replay` (`schemas/replay-summary.schema.json`).
package struct ReplaySummary: Sendable {
    package var spool: String
    package var endpoint: String
    package var dryRun: Bool
    package var tally = ReplayTally()
    package var end = ReplayEnd.delivered
    /// Records still to deliver when the replay started.
    package var total = 0
    /// Records of `total` not answered (acknowledged or rejected) when it stopped.
    package var remaining = 0
    package var elapsedSeconds = 0.0
    /// Totals over every replay of this spool, from the checkpoint.
    package var totalAcknowledged = 0
    package var totalRejected = 0

    package init(spool: String, endpoint: String, dryRun: Bool) {
        self.spool = spool
        self.endpoint = endpoint
        self.dryRun = dryRun
    }

    /// Why the replay stopped early; nil when it delivered everything.
    package var stopReason: String? {
        switch end {
        case .delivered: nil
        case .interrupted: "interrupted"
        case .stopped(let reason, _): reason
        }
    }

    /// 0 everything read was answered (acknowledged or rejected); 1 an operator's
    /// mistake (key, endpoint) stopped it with nothing consumed; 2 retries were spent:
    /// run `replay` again to continue; 130 interrupted.
    package var exitStatus: Int32 {
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

    package var json: String {
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

    package var report: String {
        if dryRun {
            return "nudge-ingest replay (dry run): would send \(group(tally.sent)) records in \(group(tally.requests)) "
                + "requests to \(endpoint) (of \(group(total)) to deliver); nothing was sent or saved. "
                + "--verbose prints every request."
        }
        var lines = ["nudge-ingest replay: spool \(spool) → \(endpoint)"]
        // "Attempted": a request that never got an answer counts here too.
        lines.append("  records     \(group(tally.sent).leftPadded(to: 10, with: " ")) attempted in \(group(tally.requests)) "
                     + "requests (of \(group(total)) to deliver)")
        lines.append("  acknowledged\(group(tally.acknowledged).leftPadded(to: 10, with: " "))")
        lines.append("  rejected    \(group(tally.rejected).leftPadded(to: 10, with: " "))"
                     + (tally.rejected > 0 ? "  see \(spool)/rejected/rejected.ndjson; `nudge-ingest requeue` sends them again" : ""))
        lines.append("  retries     \(group(tally.retries).leftPadded(to: 10, with: " "))"
                     + (tally.splits > 0 ? "  (\(tally.splits) batches split after 413)" : ""))
        let seconds = max(elapsedSeconds, 1e-9)
        let p50 = latency(percentile: 0.5).map { fixed($0 * 1000, decimals: 1) + " ms" } ?? "–"
        let p99 = latency(percentile: 0.99).map { fixed($0 * 1000, decimals: 1) + " ms" } ?? "–"
        lines.append("  \(group(Int(Double(tally.acknowledged + tally.rejected) / seconds))) records/s, "
                     + "\(fixed(Double(tally.requests) / seconds, decimals: 1)) requests/s, latency p50 \(p50), p99 \(p99), "
                     + "up to \(tally.peakConcurrency) in flight, \(format3(elapsedSeconds)) s")
        lines.append("  to this destination so far: \(group(totalAcknowledged)) acknowledged, \(group(totalRejected)) rejected")
        switch end {
        case .delivered:
            break
        case .interrupted:
            lines.append("  INTERRUPTED: what was answered is saved; run the same command again to continue.")
        case .stopped(let reason, let status):
            lines.append("  STOPPED: \(reason)."
                         + (status == 2 ? " \(group(remaining)) records not delivered yet; nothing was skipped: "
                            + "run replay again to continue." : ""))
        }
        return lines.joined(separator: "\n")
    }
}
