// With the package's HTTP trait, as the server (Package.swift).
#if HTTP
import Hummingbird
import NudgeCore
import NudgeIngest
import NudgeRendering

/// The dashboard's pages besides the report (`GET /`, the audit's HTML page with its
/// drill-down links): the list of dropped records a link selects, one record with its
/// raw line, and the page to sign in with a key. Plain HTML, no script, like the report.
enum DashboardPages {
    static let style = """
        <style>body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
        table{border-collapse:collapse;width:100%}td,th{padding:.25em .5em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
        code,pre{font-family:ui-monospace,monospace}pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap;word-break:break-all}
        .muted{color:#777}</style>
        """

    static func page(_ title: String, _ body: String) -> String {
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>\(escape(title))</title>\(style)</head><body>\n"
            + "<p><a href=\"/\">← the report</a></p>\n<h1>\(escape(title))</h1>\n" + body + "</body></html>\n"
    }

    /// `GET /ui/drops?…`: a page of the records the parameters select, each linked to its
    /// own page, and a link to the next page.
    static func list(_ records: AuditPage, request: Request) -> Response {
        let query = request.uri.query ?? ""
        let criteria = query.split(separator: "&").filter { !$0.hasPrefix("cursor=") && !$0.hasPrefix("key=") }
        var body = "<p class=muted>\(escape(criteria.isEmpty ? "every dropped record" : criteria.joined(separator: " · ")))"
            + " · as JSON: <code>GET /v1/drops?\(escape(criteria.joined(separator: "&")))</code></p>\n"
        body += "<table><tr><th>record</th><th>reason</th><th>type / event</th><th>detail</th></tr>\n"
        for (line, id) in zip(records.records, records.ids) {
            line.withUnsafeBytes { bytes in
                guard let record = try? DroppedRecord.parse(bytes) else { return }
                let text = { (range: Range<Int>?) in DroppedRecord.string(range, in: bytes) ?? "" }
                body += "<tr><td><a href=\"/ui/drops/\(id)\"><code>\(escape(text(record.file))):\(record.line)</code></a></td>"
                    + "<td>\(record.reason.rawValue)</td><td>\(escape(text(record.type)))<br>\(escape(text(record.event)))</td>"
                    + "<td>\(escape(text(record.detail)))</td></tr>\n"
            }
        }
        body += "</table>\n"
        if records.records.isEmpty { body += "<p>No dropped record matches.</p>\n" }
        if let next = records.nextCursor {
            let parameters = (criteria.map(String.init) + ["cursor=" + queryEncoded(next)]).joined(separator: "&amp;")
            body += "<p><a id=next href=\"/ui/drops?\(parameters)\">next page →</a></p>\n"
        }
        return AuditServer.htmlResponse(page("Dropped records", body))
    }

    /// `GET /ui/drops/ID`: one record, its fields and its raw line.
    static func record(_ found: (DropID, [UInt8])) -> Response {
        let (id, line) = found
        var body = ""
        line.withUnsafeBytes { bytes in
            guard let record = try? DroppedRecord.parse(bytes) else { return }
            let text = { (range: Range<Int>?) in DroppedRecord.string(range, in: bytes) ?? "" }
            body += "<table>\n"
            for (name, value) in [("reason", record.reason.rawValue), ("detail", text(record.detail)),
                                  ("file", text(record.file)), ("line", String(record.line)), ("type", text(record.type)),
                                  ("event", text(record.event)), ("message_id", text(record.messageID))] {
                body += "<tr><th>\(name)</th><td><code>\(escape(value))</code></td></tr>\n"
            }
            body += "</table>\n<h2>The raw line</h2>\n<pre id=raw>\(escape(text(record.raw)))</pre>\n"
        }
        body += "<p class=muted>As JSON: <code>GET /v1/drops/\(id)</code></p>\n"
        return AuditServer.htmlResponse(page("Dropped record \(id)", body))
    }

    /// The answer to a browser without a valid key: a form that signs in with one.
    static func signIn(_ why: String) -> String {
        page("nudge-ingest serve: sign in", """
            <p>\(escape(why)).</p>
            <form method="get" action="/"><label>API key <input name="key" type="password" size="60" autocomplete="off"></label>
            <button>Open the report</button></form>
            <p class=muted>A key comes from <code>nudge-ingest keys create --spool DIR --live</code>. It is kept in a cookie
            for 8 hours, sent to this server only.</p>

            """)
    }
}
#endif
