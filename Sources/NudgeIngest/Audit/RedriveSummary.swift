import NudgeCore
import NudgeSpool
import NudgeSystem

/// What `nudge-ingest redrive` did (`schemas/redrive-summary.schema.json`).
public struct RedriveSummary: Sendable {
    /// The spool directory redriven, as given.
    public var spool: String
    /// `--dry-run`: the counts say what would move, and nothing was written.
    public var dryRun: Bool
    /// The commit that holds the moved records; nil when nothing moved (or a dry run).
    public var commit: Int?
    /// Records decided again: `not_identified` and `anonymous_only` tracks the filter selected.
    public var selected = 0
    /// Moved to the accepted spool, by their old reason (rule order).
    package var moved = [Int](repeating: 0, count: ReasonCode.allCases.count)
    /// Dropped files rewritten without the moved records (on a dry run: that would be).
    public var filesRewritten = 0
    /// Wall-clock seconds the redrive took.
    public var elapsedSeconds = 0.0

    init(spool: String, dryRun: Bool) {
        self.spool = spool
        self.dryRun = dryRun
    }

    /// Records moved to the accepted spool (on a dry run: that would move).
    public var movedTotal: Int { moved.reduce(0, +) }

    package var report: String {
        let verb = dryRun ? "would move" : "moved"
        var lines = ["nudge-ingest redrive\(dryRun ? " --dry-run" : ""): \(group(selected)) dropped track"
                     + "\(selected == 1 ? "" : "s") decided again against the current identity state"]
        var rows = [(label: "\(verb) to accepted", count: movedTotal, note: "")]
        for (reason, count) in zip(ReasonCode.allCases, moved) where count > 0 {
            rows.append(("  " + reason.rawValue, count, ""))
        }
        rows.append(("still dropped", selected - movedTotal, "kept with their reason"))
        lines += alignedRows(rows)
        if let commit {
            lines.append("  commit \(commit): accepted/\(LedgerEntry.spoolFileName(commit, compressed: true)), \(filesRewritten) dropped "
                         + "file\(filesRewritten == 1 ? "" : "s") rewritten; `nudge-ingest replay --spool \(spool.shellQuoted)` delivers them")
        } else if !dryRun {
            lines.append("  nothing to redrive: the spool is unchanged")
        }
        return lines.joined(separator: "\n")
    }

    /// The `--json` document (`schemas/redrive-summary.schema.json`).
    public var json: String {
        var out = JSONWriter()
        out.beginObject()
        out.value("spool", spool)
        out.value("dry_run", dryRun)
        out.value("commit", commit)
        out.value("selected", selected)
        out.value("moved", movedTotal)
        out.beginObject("moved_by_reason")
        for reason in Redrive.redecidable { out.value(reason.rawValue, moved[reason.index]) }
        out.endObject()
        out.value("still_dropped", selected - movedTotal)
        out.value("files_rewritten", filesRewritten)
        out.value("elapsed_seconds", elapsedSeconds, decimals: 3)
        out.endObject()
        return out.text
    }
}
