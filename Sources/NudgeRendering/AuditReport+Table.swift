import NudgeCore
import NudgeIngest

/// `audit`'s report as a person reads it in a terminal (`audit --format table`).
extension AuditReport {
    /// The report as a person reads it in a terminal.
    package func table(top: Int = 20) -> String {
        var lines: [String] = []
        lines.append("Dropped records in \(spool) (\(commits) commit\(commits == 1 ? "" : "s"))"
                     + (onlyFiles.isEmpty ? "" : ", only from " + onlyFiles.joined(separator: ", ")))
        lines.append("  \(group(records)) records = \(group(accepted)) accepted + \(group(dropped)) dropped"
                     + percent(dropped, of: records)
                     + faultSummary
                     + (redriven > 0 ? "; \(group(redriven)) accepted by redrive" : ""))
        lines.append("")
        lines += reasonRows
        lines.append("")
        lines += eventRows(top: top)
        lines.append("")
        lines += fileRows
        lines.append("")
        lines += dayRows
        for problem in problems { lines.append("WARNING: " + problem) }
        lines.append("")
        lines.append("Replay" + (replay.destination.map { " to \($0.endpoint)" } ?? "")
                     + ": \(group(replay.acknowledged)) acknowledged by Nudge, \(group(replay.rejected)) rejected"
                     + (replay.rejected > 0 ? " (\(spool)/rejected/; `nudge-ingest requeue` puts them back)" : "")
                     + ", \(group(replay.requeued)) requeued"
                     + (replay.requeuedPending > 0 ? " (\(group(replay.requeuedPending)) waiting for the next replay)" : ""))
        if redrivable > 0 {
            lines.append("")
            lines.append("\(group(redrivable)) dropped track\(redrivable == 1 ? "" : "s") can be accepted now (their identify "
                         + "came later): run `nudge-ingest redrive --spool \(spool.shellQuoted)`")
        }
        lines.append("")
        lines.append("Page through them: nudge-ingest audit list --spool \(spool.shellQuoted) --reason REASON")
        return lines.joined(separator: "\n")
    }

    /// Each reason that dropped records (count, share, first example), and the resolved faults.
    private var reasonRows: [String] {
        var lines = ["By reason                      count   share  example"]
        for entry in reasons where entry.count > 0 {
            let example = entry.example.map { "\($0.file):\($0.line)  \($0.detail)" } ?? ""
            lines.append("  " + entry.reason.rawValue.rightPadded(to: 22) + group(entry.count).leftPadded(to: 12, with: " ")
                         + (entry.reason == .corruptInput ? "        " : (format1(share(entry.count)) + "%").leftPadded(to: 8, with: " "))
                         + "  " + example)
        }
        if dropped + faults == 0 { lines.append("  (nothing was dropped)") }
        if !resolvedFaults.isEmpty {
            lines.append("")
            lines.append("Resolved faults (\(group(resolvedFaults.count)) of \(group(faults)))")
            lines += resolvedFaultLines.map { "  " + $0 }
        }
        return lines
    }

    /// The `top` type and event pairs with the most drops, by reason.
    private func eventRows(top: Int) -> [String] {
        var lines = ["By type and event (top \(min(top, events.count)) of \(events.count))"]
        for entry in events.prefix(top) {
            let name = (entry.type ?? "(no type)") + " / " + (entry.event ?? "(no event)")
            let reasons = entry.reasons.map { "\($0.0.rawValue) \(group($0.1))" }.joined(separator: ", ")
            lines.append("  " + String(name.prefix(48)).rightPadded(to: 48) + group(entry.count).leftPadded(to: 10, with: " ")
                         + "  " + reasons)
        }
        return lines
    }

    /// Each input file: records = accepted + dropped, what redrive moved, its faults.
    private var fileRows: [String] {
        var lines = ["By input file                         records = accepted + dropped"]
        for file in files {
            var line = "  " + file.path + "  " + group(file.records) + " = " + group(file.accepted) + " + " + group(file.dropped)
            if file.redriven > 0 { line += "  (\(group(file.redriven)) redriven)" }
            if file.faults > 0 {
                let resolved = resolvedFaults.count { $0.path == file.path }
                line += "  [\(file.faults) fault\(file.faults == 1 ? "" : "s")"
                    + (resolved == 0 ? "" : resolved == file.faults ? ", resolved" : ", \(resolved) resolved") + "]"
            }
            lines.append(line)
        }
        return lines
    }

    /// The drops of each day (of each month, past ``maximumDayRows`` days), by reason.
    private var dayRows: [String] {
        let periods = days.count > Self.maximumDayRows ? months : days
        var lines = [periods.count == days.count ? "By day (event timestamp, else received-day folder)"
                     : "By month (\(days.count) days: --format json lists each day)"]
        for day in periods {
            let reasons = day.reasons.map { "\($0.0.rawValue) \(group($0.1))" }.joined(separator: ", ")
            lines.append("  " + (day.day ?? "no date").rightPadded(to: 12) + group(day.dropped).leftPadded(to: 10, with: " ")
                         + "  " + reasons)
        }
        return lines
    }

    /// `; 2 input faults (corrupt_input), 1 resolved: read whole later`, or nothing.
    var faultSummary: String {
        guard faults > 0 else { return "" }
        var text = "; \(group(faults)) input fault\(faults == 1 ? "" : "s") (corrupt_input)"
        if !resolvedFaults.isEmpty {
            text += unresolvedFaults == 0 ? (faults == 1 ? ", resolved" : ", all resolved")
                : ", \(group(resolvedFaults.count)) resolved"
            text += ": read whole by a later commit"
        }
        return text
    }

    /// One line per resolved fault.
    var resolvedFaultLines: [String] {
        resolvedFaults.map { fault in
            "\(fault.path): faulted in commit \(fault.faultCommit), read whole in commit \(fault.resolvedCommit); "
                + "its \(group(fault.rereadRecords)) record\(fault.rereadRecords == 1 ? "" : "s") before the fault were read twice "
                + "(dropped again as duplicate_message_id where they carry a messageId)"
        }
    }

    /// Past this many days, tables show months (two months of days still fit a screen).
    package static let maximumDayRows = 62
}
