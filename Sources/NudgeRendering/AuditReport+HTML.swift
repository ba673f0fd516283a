import NudgeCore
import NudgeIngest
import NudgeSpool
import NudgeSystem

/// `audit --html`: the report as one self-contained page (inline CSS and SVG, no
/// script, nothing fetched), for people who would rather look than read; `serve`'s
/// dashboard shows the same page, with links to the records.
extension AuditReport {
    /// A colour per reason code, in rule order, readable on white.
    private static let palette = [
        "#8c564b", "#d62728", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
        "#1f77b4", "#ff7f0e", "#9467bd", "#2ca02c", "#aec7e8", "#393b79", "#000000",
    ]

    private static func colour(_ reason: ReasonCode) -> String { palette[reason.index % palette.count] }

    /// Writes the page to `path` (0600: it quotes dropped records).
    package func writeHTML(to path: String, collisions: UserIDCollisions? = nil, accepted: AcceptedEvents? = nil) throws(SpoolError) {
        let file = try Files.create(path)
        defer { file.close() }
        try Files.writeAll(file, Array(html(collisions: collisions, accepted: accepted).utf8), path: path)
    }

    /// The page: the counts, both charts, each reason with what to do about it, the
    /// command that lists its records and its first raw lines; with `accepted`, the
    /// accepted side by event; with `collisions`, the userIds Nudge merges.
    ///
    /// With `drillDown` (a path, as `serve` gives: `/ui/drops`), every reason, input file
    /// and day links to the list of its dropped records there.
    package func html(collisions: UserIDCollisions? = nil, accepted acceptedEvents: AcceptedEvents? = nil,
                     drillDown: String? = nil) -> String {
        let links = DrillDown(path: drillDown)
        var page = header
        for problem in problems { page += "<p class=\"warn\">\(escape(problem))</p>\n" }
        if redrivable > 0 {
            page += "<p class=tip>\(group(redrivable)) dropped track\(redrivable == 1 ? "" : "s") can be accepted now (their "
                + "identify came later): run <code>nudge-ingest redrive --spool \(escape(spool.shellQuoted))</code></p>\n"
        }
        page += "<h2>Drops per reason over time</h2>\n" + dayChart()
        page += reasonTable(links) + reasonDetails
        page += "<h2>Top events</h2>\n" + eventChart(top: 15)
        if let acceptedEvents { page += acceptedTable(acceptedEvents, top: 20) }
        if let collisions { page += collisionTable(collisions, top: 20) }
        page += fileTable(links) + dayTable(links)
        page += "<p class=muted>Made by <code>nudge-ingest audit --html</code>. Days are the event's UTC day from "
            + "its timestamp, or its received-day folder when it has no valid timestamp.</p>\n</body></html>\n"
        return page
    }

    /// Links to the lists of dropped records on `serve`'s dashboard (none without a path).
    private struct DrillDown {
        var path: String?

        /// A link to the records `query` selects, or `text` as it is without a path.
        func link(_ text: String, _ query: [(String, String)]) -> String {
            guard let path else { return text }
            let parameters = query.map { "\($0.0)=\(queryEncoded($0.1))" }.joined(separator: "&amp;")
            return "<a class=drill href=\"\(path)?\(parameters)\">\(text)</a>"
        }
    }

    /// The page's head, its style, and the counts at the top.
    private var header: String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>nudge-ingest audit: \(escape(spool))</title>
        <style>
        body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
        h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
        table{border-collapse:collapse;width:100%}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
        td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em}
        .muted{color:#777}.legend span{margin-right:1.2em;white-space:nowrap}code{font-size:.92em}
        .warn{background:#fee;border:1px solid #d62728;padding:.5em}.tip{background:#eef6ee;border:1px solid #2ca02c;padding:.5em}
        pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap;word-break:break-all;font-size:.85em;margin:.3em 0}
        details{margin:.6em 0}summary{cursor:pointer;font-weight:600}
        </style></head><body>
        <h1>Dropped records in <code>\(escape(spool))</code></h1>
        <p>\(group(records)) records = \(group(accepted)) accepted + <b>\(group(dropped)) dropped</b>\(escape(percent(dropped, of: records)))
        \(faults > 0 ? " · " + escape(String(faultSummary.dropFirst(2))) : "")\(redriven > 0 ? " · \(group(redriven)) accepted by redrive" : "")
        · \(commits) commits\(onlyFiles.isEmpty ? "" : " · only from " + onlyFiles.map { "<code>\(escape($0))</code>" }.joined(separator: ", ") + " (the accepted side and the collisions: the whole spool)")</p>

        """
    }

    /// Each reason that dropped records: its count, share and what to do about it.
    private func reasonTable(_ links: DrillDown) -> String {
        var page = "<h2>By reason</h2>\n<table><tr><th>reason</th><th class=n>count</th><th class=n>share</th><th>what to do</th></tr>\n"
        for entry in reasons where entry.count > 0 {
            let code = entry.reason.rawValue
            let shareText = entry.reason == .corruptInput ? "" : format1(share(entry.count)) + "%"
            page += "<tr><td><span class=swatch style=\"background:\(Self.colour(entry.reason))\"></span>"
            page += "<a href=\"#\(code)\">\(code)</a></td><td class=n>\(group(entry.count))</td>"
            // A fault read whole later needs nothing more: the remedy is for the others.
            let remedy = entry.reason == .corruptInput && unresolvedFaults == 0
                ? "Resolved: every faulted input was read whole by a later commit (see below)." : entry.reason.remedy
            page += "<td class=n>\(shareText)</td><td>\(codeSpans(remedy))"
                + (links.path == nil ? "" : " " + links.link("list them", [("reason", code)])) + "</td></tr>\n"
        }
        return page + "</table>\n"
    }

    /// A section per reason: the resolved faults, its first record, the command that
    /// lists them all, its first raw lines.
    private var reasonDetails: String {
        var page = ""
        for entry in reasons where entry.count > 0 {
            page += "<details id=\"\(entry.reason.rawValue)\" open><summary>\(entry.reason.rawValue): \(group(entry.count))</summary>\n"
            if entry.reason == .corruptInput && !resolvedFaults.isEmpty {
                page += "<p class=tip>Resolved (\(group(resolvedFaults.count)) of \(group(faults))):</p><ul>\n"
                for line in resolvedFaultLines { page += "<li>\(escape(line))</li>\n" }
                page += "</ul>\n"
            }
            if let example = entry.example {
                page += "<p>First at <code>\(escape(example.file)):\(example.line)</code>: \(escape(example.detail))</p>\n"
            }
            page += "<p>All of them: <code>nudge-ingest audit list --spool \(escape(spool.shellQuoted)) --reason \(entry.reason.rawValue)</code></p>\n"
            if !entry.samples.isEmpty {
                page += "<p class=muted>The first \(entry.samples.count == 1 ? "raw line" : "\(entry.samples.count) raw lines"):</p>\n"
                for sample in entry.samples { page += "<pre>\(escape(sample))</pre>\n" }
            }
            page += "</details>\n"
        }
        return page
    }

    /// Each input file's records, accepted, dropped, redriven and faults.
    private func fileTable(_ links: DrillDown) -> String {
        var page = "<h2>By input file</h2>\n<table><tr><th>file</th><th class=n>records</th><th class=n>accepted</th>"
            + "<th class=n>dropped</th><th class=n>redriven</th><th class=n>faults</th></tr>\n"
        for file in files {
            page += "<tr><td>\(links.link("<code>\(escape(file.path))</code>", [("file", file.path)]))</td><td class=n>\(group(file.records))</td>"
                + "<td class=n>\(group(file.accepted))</td><td class=n>\(group(file.dropped))</td>"
                + "<td class=n>\(group(file.redriven))</td><td class=n>\(group(file.faults))</td></tr>\n"
        }
        return page + "</table>\n"
    }

    /// The drops of each day (of each month, past ``maximumDayRows`` days), by reason.
    private func dayTable(_ links: DrillDown) -> String {
        let periods = days.count > Self.maximumDayRows ? months : days
        var page = "<h2>By \(periods.count == days.count ? "day" : "month")</h2>\n"
            + "<table><tr><th>\(periods.count == days.count ? "day" : "month") (UTC)</th><th class=n>dropped</th>"
            + "<th class=n>placed by folder</th><th>reasons</th></tr>\n"
        for day in periods {
            let reasons = day.reasons.map { "\($0.0.rawValue) \(group($0.1))" }.joined(separator: ", ")
            let dayCell = day.day.map { $0.count == 10 ? links.link($0, [("from", $0), ("to", $0)]) : $0 } ?? "no date"
            page += "<tr><td>\(dayCell)</td><td class=n>\(group(day.dropped))</td>"
                + "<td class=n>\(group(day.byFolder))</td><td>\(reasons)</td></tr>\n"
        }
        return page + "</table>\n"
    }

    /// Stacked bars: one per day, a segment per reason.
    private func dayChart() -> String {
        let dated = days.filter { $0.day != nil }
        guard !dated.isEmpty else { return "<p class=muted>No dropped record has a date.</p>\n" }
        let (width, height, left, bottom) = (1000.0, 260.0, 56.0, 24.0)
        let tick = Self.tickStep(for: dated.map(\.dropped).max() ?? 1)
        let highest = max(((dated.map(\.dropped).max() ?? 1) + tick - 1) / tick * tick, tick)
        let step = (width - left) / Double(dated.count)
        var svg = "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" role=\"img\" "
            + "aria-label=\"dropped records per day, by reason\">\n"
        for value in stride(from: 0, through: highest, by: tick) {
            let y = height - bottom - (height - bottom - 10) * Double(value) / Double(highest)
            svg += "<line x1=\"\(Int(left))\" x2=\"\(Int(width))\" y1=\"\(fixed(y, decimals: 1))\" y2=\"\(fixed(y, decimals: 1))\" stroke=\"#eee\"/>"
                + "<text x=\"\(Int(left) - 6)\" y=\"\(fixed(y + 4, decimals: 1))\" font-size=\"11\" text-anchor=\"end\">\(group(value))</text>\n"
        }
        for (i, day) in dated.enumerated() {
            var y = height - bottom
            let x = left + Double(i) * step
            for (reason, count) in day.reasons {
                let h = (height - bottom - 10) * Double(count) / Double(highest)
                y -= h
                svg += "<rect x=\"\(fixed(x, decimals: 2))\" y=\"\(fixed(y, decimals: 2))\" width=\"\(fixed(max(step * 0.85, 0.5), decimals: 2))\" "
                    + "height=\"\(fixed(h, decimals: 2))\" fill=\"\(Self.colour(reason))\"><title>\(day.day!) \(reason.rawValue): \(group(count))</title></rect>"
            }
            if dated.count <= 12 || i % max(dated.count / 8, 1) == 0 {
                // Centred under its bar, but never past either edge (a label is about 62 units wide).
                let centre = min(max(x + step * 0.425, left + 32), width - 32)
                svg += "<text x=\"\(fixed(centre, decimals: 1))\" y=\"\(Int(height) - 6)\" font-size=\"11\" "
                    + "text-anchor=\"middle\">\(day.day!)</text>"
            }
            svg += "\n"
        }
        svg += "</svg>\n<p class=legend>"
        for entry in reasons where entry.count > 0 && entry.reason != .corruptInput {
            svg += "<span><span class=swatch style=\"background:\(Self.colour(entry.reason))\"></span>\(entry.reason.rawValue)</span>"
        }
        let undated = days.filter { $0.day == nil }.map(\.dropped).reduce(0, +)
        return svg + (undated > 0 ? "<span class=muted>\(group(undated)) records without any date are not drawn</span>" : "") + "</p>\n"
    }

    /// A round step for about four y-axis ticks: 1, 2 or 5 times a power of ten.
    static func tickStep(for highest: Int) -> Int {
        let rough = max(Double(highest) / 4, 1)
        var magnitude = 1.0
        while magnitude * 10 <= rough { magnitude *= 10 }
        for multiple in [1.0, 2.0, 5.0, 10.0] where multiple * magnitude >= rough { return Int(multiple * magnitude) }
        return Int(magnitude * 10)
    }

    /// Accepted records by event, beside the drops of the same track name.
    private func acceptedTable(_ accepted: AcceptedEvents, top: Int) -> String {
        // Accepted names are sanitised as Nudge receives them ("Signed Up" → "signed_up"); dropped ones are raw.
        var droppedTracks: [String: Int] = [:]
        for entry in events where entry.type == "track" {
            guard let name = entry.event else { continue }
            var sanitized: [UInt8] = []
            Array(name.utf8).withUnsafeBytes { UnicodeText.appendSanitized($0, to: &sanitized) }
            droppedTracks[String(decoding: sanitized, as: UTF8.self), default: 0] += entry.count
        }
        func counted(_ n: Int, _ noun: String) -> String { "\(group(n)) \(noun)\(n == 1 ? "" : "s")" }
        var page = "<h2>Accepted, by event</h2>\n<p>\(group(accepted.total)) accepted: " + counted(accepted.identifies, "identify").replacingOccurrences(of: "identifys", with: "identifies") + ", "
            + counted(accepted.total - accepted.identifies, "track") + " of " + counted(accepted.tracks.count, "event name")
            + (accepted.tracks.count > top ? " (the \(top) most frequent below)" : "") + ".</p>\n"
            + "<table><tr><th>event (as Nudge receives it)</th><th class=n>accepted</th><th class=n>dropped tracks of that name</th></tr>\n"
            + "<tr><td><i>identify</i></td><td class=n>\(group(accepted.identifies))</td><td class=n></td></tr>\n"
        for track in accepted.tracks.prefix(top) {
            page += "<tr><td>\(escape(track.name))</td><td class=n>\(group(track.count))</td>"
                + "<td class=n>\(group(droppedTracks[track.name] ?? 0))</td></tr>\n"
        }
        return page + "</table>\n"
    }

    /// The ext_ids reached from several raw userIds.
    private func collisionTable(_ collisions: UserIDCollisions, top: Int) -> String {
        var page = "<h2>userId collisions</h2>\n"
        guard !collisions.collisions.isEmpty else {
            return page + "<p class=muted>No two raw userIds sanitise to the same ext_id.</p>\n"
        }
        page += "<p>Nudge keys users by ext_id (spaces to <code>_</code>, then lowercase): these raw userIds are merged "
            + "into one user each. \(group(collisions.collisions.count)) ext_id\(collisions.collisions.count == 1 ? "" : "s")"
            + (collisions.collisions.count > top ? ", the first \(top) below" : "")
            + "; all: <code>nudge-ingest audit collisions --spool \(escape(spool.shellQuoted))</code></p>\n"
            + "<table><tr><th>ext_id</th><th>raw userIds (records)</th></tr>\n"
        for collision in collisions.collisions.prefix(top) {
            let forms = collision.userIDs.map { "<code>\(escape($0.userID))</code> (\(group($0.records)))" }.joined(separator: ", ")
            page += "<tr><td><code>\(escape(collision.extID))</code></td><td>\(forms)</td></tr>\n"
        }
        return page + "</table>\n"
    }

    /// Horizontal bars for the type/event pairs with the most drops, by reason.
    private func eventChart(top: Int) -> String {
        let shown = Array(events.prefix(top))
        guard let highest = shown.first?.count, highest > 0 else { return "<p class=muted>Nothing was dropped.</p>\n" }
        let (width, row, label) = (1000.0, 22.0, 330.0)
        var svg = "<svg viewBox=\"0 0 \(Int(width)) \(Int(row * Double(shown.count) + 4))\" width=\"100%\" role=\"img\" "
            + "aria-label=\"top events by dropped records\">\n"
        for (i, entry) in shown.enumerated() {
            let y = Double(i) * row
            let name = (entry.type ?? "(no type)") + " / " + (entry.event ?? "(no event)")
            svg += "<text x=\"\(Int(label) - 8)\" y=\"\(fixed(y + 15, decimals: 1))\" font-size=\"12\" text-anchor=\"end\">"
                + "\(escape(String(name.prefix(48))))</text>"
            var x = label
            for (reason, count) in entry.reasons {
                let w = (width - label - 70) * Double(count) / Double(highest)
                svg += "<rect x=\"\(fixed(x, decimals: 2))\" y=\"\(fixed(y + 3, decimals: 1))\" width=\"\(fixed(w, decimals: 2))\" height=\"16\" "
                    + "fill=\"\(Self.colour(reason))\"><title>\(escape(name)) · \(reason.rawValue): \(group(count))</title></rect>"
                x += w
            }
            svg += "<text x=\"\(fixed(x + 6, decimals: 1))\" y=\"\(fixed(y + 15, decimals: 1))\" font-size=\"12\">\(group(entry.count))</text>\n"
        }
        return svg + "</svg>\n"
    }
}
