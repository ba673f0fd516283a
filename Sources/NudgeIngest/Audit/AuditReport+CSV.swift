import NudgeCore

extension AuditReport {
    /// One table in long form, for spreadsheets and SQL: a row per reason, per type and
    /// event, per file, per day and reason, and per example.
    package var csv: String {
        var rows = [["section", "reason", "type", "event", "file", "day", "count", "share", "records", "accepted", "line", "detail"]]
        func row(_ section: String, reason: String = "", type: String? = "", event: String? = "", file: String = "",
                 day: String = "", count: Int? = nil, share: Double? = nil, records: Int? = nil, accepted: Int? = nil,
                 line: Int? = nil, detail: String = "") {
            rows.append([section, reason, type ?? "", event ?? "", file, day, count.map(String.init) ?? "",
                         share.map { fixed($0, decimals: 2) } ?? "", records.map(String.init) ?? "",
                         accepted.map(String.init) ?? "", line.map(String.init) ?? "", detail])
        }
        for entry in reasons {
            row("reason", reason: entry.reason.rawValue, count: entry.count,
                share: entry.reason == .corruptInput ? nil : share(entry.count))
        }
        for entry in events {
            for (reason, count) in entry.reasons {
                row("event", reason: reason.rawValue, type: entry.type, event: entry.event, count: count, share: share(count))
            }
        }
        for file in files {
            row("file", file: file.path, count: file.dropped, records: file.records, accepted: file.accepted)
        }
        for day in days {
            for (reason, count) in day.reasons { row("day", reason: reason.rawValue, day: day.day ?? "", count: count) }
        }
        row("replay", reason: "acknowledged", count: replay.acknowledged)
        row("replay", reason: "rejected", count: replay.rejected)
        row("replay", reason: "requeued", count: replay.requeued)
        row("replay", reason: "requeued_pending", count: replay.requeuedPending)
        for entry in reasons {
            if let example = entry.example {
                row("example", reason: entry.reason.rawValue, file: example.file, line: example.line, detail: example.detail)
            }
        }
        return rows.map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\r\n")
    }
}
