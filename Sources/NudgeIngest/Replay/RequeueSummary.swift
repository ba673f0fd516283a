import NudgeCore
import NudgeSpool

/// The outcome of `nudge-ingest requeue` (`schemas/requeue-summary.schema.json`).
package struct RequeueSummary: Sendable {
    package var spool: String
    package var dryRun: Bool
    /// Records put back: those the filter matched, and the rejected identifies of
    /// their users.
    package var requeued = 0
    /// Of them, identifies added because a matched record's user needs them first
    /// (the tracks held back by those identifies come along too, uncounted here).
    package var identifiesAdded = 0
    /// Records left in the rejected spool.
    package var remaining = 0
    /// Records the next replay will send again, over every requeue not yet replayed.
    package var pending = 0

    package var json: String {
        var json = JSONWriter()
        json.beginObject()
        json.value("spool", spool)
        json.value("dry_run", dryRun)
        json.value("requeued", requeued)
        json.value("identifies_added", identifiesAdded)
        json.value("remaining_rejected", remaining)
        json.value("pending", pending)
        json.endObject()
        return json.text
    }

    package var report: String {
        let verb = dryRun ? "would put back" : "put back"
        var text = "nudge-ingest requeue\(dryRun ? " (dry run: nothing changed)" : ""): \(verb) \(group(requeued)) rejected records"
        if identifiesAdded > 0 { text += " (\(group(identifiesAdded)) of them identifies their tracks need first)" }
        text += "; \(group(remaining)) stay in \(spool)/rejected/."
        if !dryRun && pending > 0 {
            text += "\n  The next `nudge-ingest replay --spool \(spool.shellQuoted)` sends \(group(pending)) records again, in spool order."
        }
        return text
    }
}
