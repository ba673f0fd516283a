import NudgeCore
import NudgeIngest

extension ReplaySummary {
    /// The summary a person reads on standard error: what was sent and answered, at
    /// what speed, the totals to this destination, and why it stopped.
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
                     + (tally.rejected > 0 ? "  see \(spool)/rejected/; `nudge-ingest requeue` sends them again" : ""))
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
