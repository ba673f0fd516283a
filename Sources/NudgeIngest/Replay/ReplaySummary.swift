/// The outcome of `nudge-ingest replay` (`schemas/replay-summary.schema.json`).
public struct ReplaySummary: Sendable {
    public var spool: String
    public var endpoint: String
    public var dryRun: Bool
    /// Requests sent and the records they carried (retries not counted again).
    public var requests = 0
    public var sent = 0
    public var acknowledged = 0
    public var rejected = 0
    /// Attempts beyond the first, over all requests.
    public var retries = 0
    /// Seconds from sending to an answer, per attempt.
    public var latencies: [Double] = []
    public var elapsedSeconds = 0.0
    /// Why the replay stopped early (retries spent); nil when it finished.
    public var stopReason: String?
    /// Records read but not delivered when it stopped.
    public var remaining = 0
    /// Totals over every replay of this spool, from the checkpoint.
    public var totalAcknowledged = 0
    public var totalRejected = 0

    /// 0 everything read was answered (acknowledged or rejected); 2 stopped early: run
    /// `replay` again to continue.
    public var exitStatus: Int32 { stopReason == nil ? 0 : 2 }

    public func latency(percentile: Double) -> Double? {
        guard !latencies.isEmpty else { return nil }
        let sorted = latencies.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * percentile).rounded(.up)) - 1)]
    }

    public var json: String {
        func number(_ value: Double?) -> String { value.map { fixed($0 * 1000, decimals: 1) } ?? "null" }
        var out = ByteBuffer(capacity: 512)
        out.append(utf8: "{\"spool\":")
        JSONOutput.appendString(spool, to: &out)
        out.append(utf8: ",\"endpoint\":")
        JSONOutput.appendString(endpoint, to: &out)
        out.append(utf8: ",\"dry_run\":\(dryRun),\"requests\":\(requests),\"sent\":\(sent)")
        out.append(utf8: ",\"acknowledged\":\(acknowledged),\"rejected\":\(rejected),\"retries\":\(retries)")
        out.append(utf8: ",\"remaining\":\(remaining),\"stopped\":")
        if let stopReason { JSONOutput.appendString(stopReason, to: &out) } else { out.append("null") }
        out.append(utf8: ",\"requests_per_second\":\(fixed(elapsedSeconds > 0 ? Double(requests) / elapsedSeconds : 0, decimals: 1))")
        out.append(utf8: ",\"latency_ms\":{\"p50\":\(number(latency(percentile: 0.5))),\"p99\":\(number(latency(percentile: 0.99)))}")
        out.append(utf8: ",\"total_acknowledged\":\(totalAcknowledged),\"total_rejected\":\(totalRejected)")
        out.append(utf8: ",\"elapsed_seconds\":\(format3(elapsedSeconds)),\"exit_status\":\(exitStatus)}")
        return out.withBytes { String(decoding: $0, as: UTF8.self) }
    }

    public var report: String {
        var lines = ["nudge-ingest replay\(dryRun ? " (dry run: nothing sent)" : ""): spool \(spool) → \(endpoint)"]
        lines.append("  records     \(group(sent).leftPadded(to: 10, with: " ")) sent in \(group(requests)) requests")
        lines.append("  acknowledged\(group(acknowledged).leftPadded(to: 10, with: " "))")
        lines.append("  rejected    \(group(rejected).leftPadded(to: 10, with: " "))"
                     + (rejected > 0 ? "  see \(spool)/rejected/rejected.ndjson" : ""))
        lines.append("  retries     \(group(retries).leftPadded(to: 10, with: " "))")
        let rate = elapsedSeconds > 0 ? Double(requests) / elapsedSeconds : 0
        let p50 = latency(percentile: 0.5).map { fixed($0 * 1000, decimals: 1) + " ms" } ?? "–"
        let p99 = latency(percentile: 0.99).map { fixed($0 * 1000, decimals: 1) + " ms" } ?? "–"
        lines.append("  \(fixed(rate, decimals: 1)) requests/s, latency p50 \(p50), p99 \(p99), \(format3(elapsedSeconds)) s")
        if !dryRun {
            lines.append("  this spool so far: \(group(totalAcknowledged)) acknowledged, \(group(totalRejected)) rejected")
        }
        if let stopReason {
            lines.append("  STOPPED: \(stopReason); \(group(remaining)) records read and not delivered. "
                         + "Nothing was skipped: run replay again to continue.")
        }
        return lines.joined(separator: "\n")
    }
}
