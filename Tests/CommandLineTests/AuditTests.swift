import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// Issue #6 on the real binary: `audit` (report, list, collisions, HTML), `preview` and
/// `redrive`, checked against the spool as Foundation's JSON parser reads it.
@Suite(.serialized) struct AuditTests {
    static let day1 = "1741564800000"  // 2025-03-10, Segment's received-day folder names
    static let day2 = "1741651200000"  // 2025-03-11

    /// A small dirty export over two received days whose every outcome is known:
    /// late identifies (redrive material), a sanitising collision, faults of each kind.
    static func writeExport(in dir: URL) throws -> String {
        let first: [String] = [
            // 1: "User 42" is identified only the next day (as user_42): not_identified, then redriven.
            #"{"type":"track","userId":"User 42","event":"Signed Up","timestamp":"2025-03-09T10:00:00Z","messageId":"m1"}"#,
            // 2: anon-1 is linked only the next day: anonymous_only, then redriven.
            #"{"type":"track","anonymousId":"anon-1","event":"Viewed","timestamp":"2025-03-09T11:00:00+01:00"}"#,
            #"{"type":"page","userId":"ana","timestamp":"2025-03-10T09:00:00Z"}"#,
            "not json at all",
            #"{"type":"identify","userId":"Ana","anonymousId":"anon-9"}"#,
            // 6: no valid timestamp: placed on its received day.
            #"{"type":"track","userId":"Ana","event":"Viewed","timestamp":"yesterday"}"#,
            "",
            #"{"type":"track","userId":"nobody","event":"Viewed","timestamp":"2025-03-10T23:59:59.999Z"}"#,
        ]
        let second: [String] = [
            #"{"type":"identify","userId":"user_42","anonymousId":"anon-1","traits":{"email":"u42@example.com"}}"#,
            #"{"type":"track","userId":"USER 42","event":"Signed Up","timestamp":"2025-03-11T08:00:00Z"}"#,
            #"{"type":"track","userId":"nobody","event":"Signed Up","timestamp":"2025-03-11T09:00:00Z","messageId":"m9"}"#,
            #"{"type":"track","userId":"user_42","event":"Signed Up","timestamp":"2025-03-11T10:00:00Z","messageId":"m1"}"#,
            #"{"type":"track","userId":42.5,"event":"Viewed","timestamp":"2025-03-11T11:00:00Z"}"#,
        ]
        let root = dir.appendingPathComponent("segment-logs/src")
        for (day, lines) in [(day1, first), (day2, second)] {
            let folder = root.appendingPathComponent(day)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(gzip(Array(lines.joined(separator: "\r\n").utf8) + [0x0A]))
                .write(to: folder.appendingPathComponent("\(day)0.events.gz"))
        }
        return "segment-logs"
    }

    static func tool(_ arguments: [String], in dir: URL, stdin: Data? = nil,
                     environment: [String: String] = [:]) throws -> ProcessResult {
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        return try runProgram(toolPath, arguments, stdin: stdin, currentDirectory: dir, environment: env)
    }

    static func json(_ result: ProcessResult) throws -> [String: Any] {
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try parseJSON(result.stdout) as? [String: Any])
    }

    /// Every dropped record of the spool, in spool order, read by Foundation.
    static func droppedRecords(_ spool: URL) throws -> [[String: Any]] {
        try EndToEndTests.spoolRecords(spool.appendingPathComponent("dropped"))
    }

    static func makeSpool(in dir: URL) throws -> URL {
        let input = try writeExport(in: dir)
        let spool = dir.appendingPathComponent("spool")
        let run = try tool(["run", "--spool", spool.path, input], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        return spool
    }

    // MARK: - audit report

    @Test func theReportCountsEveryDropByReasonTypeFileAndDay() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.makeSpool(in: dir)
            let reportJSON = try Self.tool(["audit", "--spool", spool.path, "--format", "json"], in: dir)
            try ReplayTests.expectValid(reportJSON.stdout, schema: "audit-report")
            let report = try Self.json(reportJSON)
            #expect(report["records"] as? Int == 12)
            #expect(report["accepted"] as? Int == 3)
            #expect(report["dropped"] as? Int == 9)
            let reasons = Dictionary(uniqueKeysWithValues: (report["reasons"] as! [[String: Any]]).map {
                ($0["reason"] as! String, $0)
            })
            #expect(reasons.count == ReasonCode.allCases.count)
            let expected = ["not_identified": 3, "anonymous_only": 1, "unsupported_type": 1, "malformed_json": 1,
                            "invalid_timestamp": 1, "duplicate_message_id": 1, "invalid_user_id": 1]
            for (code, entry) in reasons { #expect(entry["count"] as? Int == expected[code] ?? 0, "\(code)") }
            // An example names the first record of its reason, file:line and detail.
            let example = try #require(reasons["not_identified"]?["example"] as? [String: Any])
            #expect((example["file"] as? String)?.hasSuffix("\(Self.day1)/\(Self.day1)0.events.gz") == true)
            #expect(example["line"] as? Int == 1)
            #expect((example["detail"] as? String)?.contains("user_42") == true)
            #expect(abs((reasons["not_identified"]!["share"] as! Double) - 25.0) < 0.01)

            // Files: records = accepted + dropped, against the ledger.
            let files = report["files"] as! [[String: Any]]
            #expect(files.count == 2)
            #expect(files.map { $0["records"] as! Int } == [7, 5])
            #expect(files.map { $0["dropped"] as! Int } == [6, 3])
            for file in files {
                #expect(file["records"] as! Int == (file["accepted"] as! Int) + (file["dropped"] as! Int))
            }
            // Days: the event's UTC day; "yesterday" and "not json" fall back to their folder's day.
            let days = Dictionary(uniqueKeysWithValues: (report["days"] as! [[String: Any]]).map {
                ($0["day"] as! String, ($0["dropped"] as! Int, $0["by_folder"] as! Int))
            })
            #expect(days["2025-03-09"]! == (2, 0))
            #expect(days["2025-03-10"]! == (4, 2))
            #expect(days["2025-03-11"]! == (3, 0))
            // Types and events.
            let events = (report["events"] as! [[String: Any]]).map {
                "\($0["type"] as? String ?? "-")/\($0["event"] as? String ?? "-")=\($0["count"] as! Int)"
            }
            #expect(Set(events) == ["track/Signed Up=3", "track/Viewed=4", "page/-=1", "-/-=1"])

            // Read by one thread or by several over runs of files, the report is the same.
            func withoutTime(_ parallelism: Int) throws -> String {
                try AuditReport.make(spool: spool.path, parallelism: parallelism).json
                    .replacing(/"elapsed_seconds":[0-9.]+/, with: "")
            }
            #expect(try withoutTime(1) == withoutTime(2))
            #expect(try withoutTime(1) == withoutTime(5))

            // The same numbers in the table and the CSV.
            let table = try Self.tool(["audit", "report", "--spool", spool.path], in: dir)
            #expect(table.status == 0)
            #expect(table.stdoutText.contains("12 records = 3 accepted + 9 dropped"))
            #expect(table.stdoutText.contains("not_identified"))
            let csv = try Self.tool(["audit", "--spool", spool.path, "--format", "csv"], in: dir)
            let rows = csv.stdoutText.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            #expect(rows.first?.first == "section")
            #expect(rows.contains { $0[0] == "reason" && $0[1] == "not_identified" && $0[6] == "3" })
            #expect(rows.contains { $0[0] == "day" && $0[5] == "2025-03-10" && $0[1] == "malformed_json" && $0[6] == "1" })
        }
    }

    /// A dropped file that is not what its commit wrote is reported with its place,
    /// never read as if it were sound.
    @Test func aDamagedDroppedFileIsReportedNotTrusted() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.makeSpool(in: dir)
            // A compressed file with a byte of its member changed: its checks fail.
            let compressed = spool.appendingPathComponent("dropped/00000001.ndjson.gz")
            let original = try Data(contentsOf: compressed)
            var damaged = original
            damaged[damaged.count - 6] ^= 0x40  // the trailer's CRC-32
            try damaged.write(to: compressed)
            for command in [["audit"], ["audit", "list"], ["redrive"]] {
                let result = try Self.tool(command + ["--spool", spool.path], in: dir)
                #expect(result.status == 1, "\(command)")
                #expect(result.stderr.contains("dropped/00000001.ndjson.gz is damaged: the member at byte 0 is damaged"),
                        "\(command): \(result.stderr)")
            }
            try original.write(to: compressed)

            // The same spool as versions before compression wrote it: a plain file.
            try decompressSpool(spool)
            let file = spool.appendingPathComponent("dropped/00000001.ndjson")
            #expect(try Self.tool(["audit", "--spool", spool.path], in: dir).status == 0)
            var bytes = try Data(contentsOf: file)
            // Same size, second line broken: its reason is no longer a reason code.
            let second = bytes.firstIndex(of: 0x0A)! + 1
            bytes[second + 2] = UInt8(ascii: "X")
            try bytes.write(to: file)
            for command in [["audit"], ["audit", "list"], ["redrive"]] {
                let result = try Self.tool(command + ["--spool", spool.path], in: dir)
                #expect(result.status == 1, "\(command)")
                #expect(result.stderr.contains("dropped/00000001.ndjson:2"), "\(command): \(result.stderr)")
            }
            // Cut short: the size the ledger gives it is not there.
            try bytes.prefix(bytes.count - 10).write(to: file)
            let cut = try Self.tool(["audit", "--spool", spool.path], in: dir)
            #expect(cut.status == 1 && cut.stderr.contains("the ledger gives it"), "\(cut.stderr)")
        }
    }

    @Test func theHTMLReportIsOneSelfContainedPageWithCharts() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.makeSpool(in: dir)
            let page = dir.appendingPathComponent("audit.html")
            let result = try Self.tool(["audit", "--spool", spool.path, "--html", page.path], in: dir)
            #expect(result.status == 0, "\(result.stderr)")
            let html = try String(contentsOf: page, encoding: .utf8)
            #expect(html.hasPrefix("<!DOCTYPE html>"))
            #expect(html.components(separatedBy: "<svg").count == 3, "two charts")
            #expect(html.contains("2025-03-09 not_identified: 1"))
            #expect(html.contains("track / Viewed"))
            // Each reason: what to do, the command that lists its records, its first raw lines (escaped).
            #expect(html.contains("run <code>nudge-ingest redrive</code> after it"))
            #expect(html.contains("<code>nudge-ingest audit list --spool \(spool.path) --reason not_identified</code>"))
            #expect(html.contains("<pre>not json at all</pre>"))
            #expect(html.contains("<pre>{&quot;type&quot;:&quot;track&quot;,&quot;userId&quot;:42.5,"))
            // The accepted side by event, and the userIds Nudge merges.
            #expect(html.contains("<h2>Accepted, by event</h2>\n<p>3 accepted: 2 identifies, 1 track of 1 event name.</p>"))
            #expect(html.contains("<tr><td>signed_up</td><td class=n>1</td><td class=n>3</td></tr>"), "\(html)")
            #expect(html.contains("<code>user_42</code>") && html.contains("<code>USER 42</code> (1)"))
            // Nothing fetched: no script, no external reference (quoted raw lines aside).
            let markup = html.components(separatedBy: "<pre>").map { $0.components(separatedBy: "</pre>").last! }.joined()
            for forbidden in ["<script", "http://", "https://", " src=", "<link", "@import", "url("] {
                #expect(!markup.contains(forbidden), "\(forbidden)")
            }
            // Well formed: every element Python's parser opens is closed.
            let check = try runProgram("/usr/bin/env", ["python3", "-c", """
                import sys
                from html.parser import HTMLParser
                void = {"meta", "br", "line", "rect"}
                class P(HTMLParser):
                    stack = []
                    def handle_starttag(self, tag, attrs):
                        if tag not in void: self.stack.append(tag)
                    def handle_startendtag(self, tag, attrs): pass
                    def handle_endtag(self, tag):
                        if tag in void: return
                        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-3:])
                        self.stack.pop()
                p = P(); p.feed(open(sys.argv[1]).read()); assert not p.stack, p.stack
                """, page.path])
            #expect(check.status == 0, "\(check.stderr)")
        }
    }

    /// The page in a real browser: headless Chromium loads it, runs no script of its own
    /// (none is allowed), and lays out both charts with bars and every axis label inside
    /// its chart. A small harness script, added to a copy of the page only here, measures
    /// the layout and reports errors.
    @Test(.enabled(if: chromium != nil || ProcessInfo.processInfo.environment["CI"] == "true",
                   "needs chromium (.ci/run installs it)"))
    func theHTMLReportRendersInHeadlessChromium() throws {
        let browser = try #require(Self.chromium, "CI must have chromium: .ci/run installs it")
        try withTemporaryDirectory { dir in
            let spool = try Self.makeSpool(in: dir)
            let page = dir.appendingPathComponent("audit.html")
            #expect(try Self.tool(["audit", "--spool", spool.path, "--html", page.path], in: dir).status == 0)
            let harness = """
                <script>
                window.__errors = [];
                window.addEventListener("error", e => window.__errors.push(String(e.message)));
                window.addEventListener("load", () => {
                  const charts = [...document.querySelectorAll("svg")].map(svg => {
                    const box = svg.getBoundingClientRect();
                    const bars = [...svg.querySelectorAll("rect")].filter(r => {
                      const b = r.getBoundingClientRect(); return b.width > 0 && b.height > 0; }).length;
                    const outside = [...svg.querySelectorAll("text")].filter(t => {
                      const b = t.getBoundingClientRect(); return b.left < box.left - 0.5 || b.right > box.right + 0.5; })
                      .map(t => t.textContent);
                    const ticks = [...svg.querySelectorAll("text[text-anchor=end]")].map(t => t.textContent);
                    return {width: box.width, height: box.height, bars, outside, ticks};
                  });
                  const out = document.createElement("pre");
                  out.id = "harness";
                  out.textContent = JSON.stringify({errors: window.__errors, charts});
                  document.body.appendChild(out);
                });
                </script>
                """
            let html = try String(contentsOf: page, encoding: .utf8)
            let measured = dir.appendingPathComponent("measured.html")
            try Data(html.replacingOccurrences(of: "<head>", with: "<head>" + harness).utf8).write(to: measured)
            let result = try runProgram(browser, [
                "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(dir.path)/profile",
                "--window-size=1200,900", "--virtual-time-budget=5000", "--dump-dom", measured.absoluteString,
            ])
            #expect(result.status == 0, "\(result.stderr)")
            let dom = result.stdoutText
            let start = try #require(dom.range(of: "<pre id=\"harness\">"), "no harness output: \(dom.prefix(500)) \(result.stderr)")
            let end = try #require(dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex))
            let text = String(dom[start.upperBound..<end.lowerBound])
                .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                .replacingOccurrences(of: "&amp;", with: "&")
            let report = try #require(try parseJSON(Data(text.utf8)) as? [String: Any])
            #expect((report["errors"] as? [Any])?.isEmpty == true, "\(report)")
            let charts = try #require(report["charts"] as? [[String: Any]])
            #expect(charts.count == 2, "both charts")
            for chart in charts {
                #expect((chart["width"] as? Double ?? 0) > 300 && (chart["height"] as? Double ?? 0) > 50, "\(chart)")
                #expect((chart["bars"] as? Int ?? 0) >= 3, "\(chart)")
                #expect((chart["outside"] as? [Any])?.isEmpty == true, "a label is clipped: \(chart)")
            }
            // The day chart's y axis: round, evenly spaced ticks from 0.
            let ticks = (charts[0]["ticks"] as? [String] ?? []).compactMap { Int($0.replacingOccurrences(of: ",", with: "")) }
            #expect(ticks.first == 0 && ticks.count >= 2, "\(ticks)")
            let step = ticks.count >= 2 ? ticks[1] : 0
            #expect(zip(ticks, ticks.dropFirst()).allSatisfy { $1 - $0 == step }, "\(ticks)")
            #expect([1, 2, 5, 10, 20, 50, 100].contains(step), "\(ticks)")
        }
    }

    /// Chromium's path, when installed.
    static let chromium: String? = ["chromium", "chromium-browser", "google-chrome"].lazy.compactMap { name in
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
            .map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }.first

    // MARK: - audit list

    /// Every filter selects exactly the records an independent reading of the spool
    /// selects, in spool order.
    @Test func everyListFilterSelectsExactlyItsRecords() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.makeSpool(in: dir)
            let all = try Self.droppedRecords(spool)
            func raw(_ record: [String: Any]) -> [String: Any]? {
                (try? parseJSON(Data((record["raw"] as! String).utf8))) as? [String: Any]
            }
            func list(_ filters: [String]) throws -> [[String: Any]] {
                let result = try Self.tool(["audit", "list", "--spool", spool.path, "--format", "json", "--limit", "1000"] + filters, in: dir)
                try ReplayTests.expectValid(result.stdout, schema: "audit-list")
                let page = try Self.json(result)
                #expect(page["has_more"] as? Bool == false)
                #expect(page["next_cursor"] is NSNull)
                return page["data"] as! [[String: Any]]
            }
            func key(_ record: [String: Any]) -> String {
                "\((record["source"] as! [String: Any])["file"]!):\((record["source"] as! [String: Any])["line"]!)"
            }
            func check(_ filters: [String], _ expected: ([String: Any]) -> Bool, count: Int) throws {
                let listed = try list(filters).map(key)
                let wanted = all.filter(expected).map(key)
                #expect(listed == wanted, "\(filters)")
                #expect(listed.count == count, "\(filters)")
            }
            try check([], { _ in true }, count: 9)
            try check(["--reason", "not_identified"], { $0["reason"] as? String == "not_identified" }, count: 3)
            try check(["--reason", "not_identified", "--reason", "anonymous_only"],
                      { ["not_identified", "anonymous_only"].contains($0["reason"] as? String) }, count: 4)
            try check(["--type", "page"], { $0["type"] as? String == "page" }, count: 1)
            try check(["--event", "Signed Up"], { $0["event"] as? String == "Signed Up" }, count: 3)
            try check(["--event", "Signed Up", "--reason", "not_identified"],
                      { $0["event"] as? String == "Signed Up" && $0["reason"] as? String == "not_identified" }, count: 2)
            // --user: the raw userId, its ext_id, or the anonymousId.
            try check(["--user", "User 42"], { raw($0)?["userId"] as? String == "User 42" }, count: 1)
            try check(["--user", "user_42"], {
                ["User 42", "user_42"].contains(raw($0)?["userId"] as? String)
            }, count: 2)
            try check(["--user", "anon-1"], { raw($0)?["anonymousId"] as? String == "anon-1" }, count: 1)
            try check(["--user", "nobody"], { raw($0)?["userId"] as? String == "nobody" }, count: 2)
            // --file: exact, or a folder.
            let second = "segment-logs/src/\(Self.day2)/\(Self.day2)0.events.gz"
            try check(["--file", second], { key($0).hasPrefix(second + ":") }, count: 3)
            try check(["--file", "segment-logs/src/\(Self.day1)"], { key($0).contains(Self.day1 + "/") }, count: 6)
            try check(["--file", "segment-logs/sr"], { _ in false }, count: 0)
            // --from/--to: the event's time, else its folder's day; a date alone as --to includes that day.
            try check(["--from", "2025-03-10", "--to", "2025-03-10"], {
                let line = ($0["source"] as! [String: Any])["line"] as! Int
                return key($0).contains(Self.day1 + "/") && [3, 4, 6, 8].contains(line)
            }, count: 4)
            // 10:00Z and 11:00+01:00 are one instant; the bounds are read with their offsets.
            try check(["--from", "2025-03-09T10:30:00+01:00", "--to", "2025-03-09T10:00:00.001Z"], {
                (raw($0)?["timestamp"] as? String)?.hasPrefix("2025-03-09") == true
            }, count: 2)
            try check(["--to", "2025-03-09T10:00:00Z"], { _ in false }, count: 0)
            try check(["--from", "2025-03-11T10:00:00"], { ($0["raw"] as! String).contains("2025-03-11T1") }, count: 2)

            // The same selection as CSV and as a table; the table says where the next page starts.
            let csv = try Self.tool(["audit", "list", "--spool", spool.path, "--format", "csv", "--reason", "not_identified"], in: dir)
            let rows = csv.stdoutText.split(separator: "\r\n")
            #expect(rows.first == "file,line,reason,type,event,message_id,detail")
            #expect(rows.count == 4 && rows.dropFirst().allSatisfy { $0.contains(",not_identified,track,") })
            #expect(rows[1].hasSuffix(#","no identify of user ""user_42"" was accepted before this track""#), "\(rows[1])")
            let table = try Self.tool(["audit", "list", "--spool", spool.path, "--reason", "not_identified", "--limit", "2"], in: dir)
            #expect(table.stdoutText.split(separator: "\n").count == 2)
            #expect(table.stdoutText.contains(":1  not_identified  track/Signed Up  no identify of user"))
            #expect(table.stderr.contains("2 records; 1 more matches: the next page with --cursor c1."), "\(table.stderr)")

            // Bad criteria are usage errors (exit 1), named.
            for bad in [["--reason", "nope"], ["--from", "March"], ["--limit", "0"], ["--limit", "1001"]] {
                let result = try Self.tool(["audit", "list", "--spool", spool.path] + bad, in: dir)
                #expect(result.status == 1, "\(bad)")
                #expect(result.stderr.contains(bad[0]), "\(bad): \(result.stderr)")
            }
        }
    }

    /// Pages of a few records each give every matching record once, in order; a cursor
    /// refuses other filters, and survives a redrive that rewrote its file.
    /// 4 files of 60 lines under `in/`, one in three dropped as not_identified (80 drops,
    /// events E0 to E3), run into `spool`.
    static func lateTracksSpool(in dir: URL, spool name: String = "spool") throws -> URL {
        let folder = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for file in 0..<4 {
            var lines: [String] = []
            for i in 0..<60 {
                let user = i % 3 == 0 ? "late\(file)-\(i)" : "u\(file)-\(i)"
                if i % 3 != 0 { lines.append(#"{"type":"identify","userId":"\#(user)"}"#) }
                lines.append(#"{"type":"track","userId":"\#(user)","event":"E\#(i % 4)","timestamp":"2025-03-10T00:00:00Z"}"#)
            }
            try DurabilityTests.writeLines(lines, to: folder.appendingPathComponent("part\(file).ndjson"))
        }
        let spool = dir.appendingPathComponent(name)
        let run = try Self.tool(["run", "--spool", spool.path, "in"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        return spool
    }

    @Test func cursorsPageThroughMoreRecordsThanAPage() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.lateTracksSpool(in: dir)
            let everything = try Self.droppedRecords(spool)
            #expect(everything.count == 80)

            func page(_ extra: [String]) throws -> (data: [[String: Any]], cursor: String?) {
                let result = try Self.tool(["audit", "list", "--spool", spool.path, "--format", "json"] + extra, in: dir)
                let json = try Self.json(result)
                let cursor = json["next_cursor"] as? String
                #expect((json["has_more"] as? Bool) == (cursor != nil))
                return (json["data"] as! [[String: Any]], cursor)
            }
            func pageThrough(_ filters: [String], limit: Int) throws -> [[String: Any]] {
                var records: [[String: Any]] = []
                var cursor: String?
                var pages = 0
                repeat {
                    let next = try page(filters + ["--limit", String(limit)] + (cursor.map { ["--cursor", $0] } ?? []))
                    #expect(next.data.count <= limit)
                    if next.cursor != nil { #expect(next.data.count == limit) }
                    records += next.data
                    cursor = next.cursor
                    pages += 1
                } while cursor != nil && pages < 100
                return records
            }
            let source = { (r: [String: Any]) in "\((r["source"] as! [String: Any])["file"]!):\((r["source"] as! [String: Any])["line"]!)" }
            #expect(try pageThrough([], limit: 7).map(source) == everything.map(source))
            #expect(try pageThrough([], limit: 80).map(source) == everything.map(source))
            let e2 = everything.filter { $0["event"] as? String == "E2" }
            #expect(try pageThrough(["--event", "E2"], limit: 3).map(source) == e2.map(source))

            // A cursor is bound to its filters, and must be one audit list gave.
            let first = try page(["--limit", "5"])
            let other = try Self.tool(["audit", "list", "--spool", spool.path, "--event", "E1", "--cursor", first.cursor!], in: dir)
            #expect(other.status == 1 && other.stderr.contains("other filters"))
            let forged = try Self.tool(["audit", "list", "--spool", spool.path, "--cursor", "abc"], in: dir)
            #expect(forged.status == 1 && forged.stderr.contains("--cursor"))

            // Identify the late users of part1 and part2, redrive (rewriting those files), then go on
            // with a cursor made before: the moved records are gone, the rest follow in order.
            let middle = try page(["--limit", "30"])
            let lateIdentifies = (1...2).flatMap { file in
                stride(from: 0, to: 60, by: 3).map { #"{"type":"identify","userId":"late\#(file)-\#($0)"}"# }
            }
            try DurabilityTests.writeLines(lateIdentifies, to: dir.appendingPathComponent("late.ndjson"))
            #expect(try Self.tool(["run", "--spool", spool.path, "late.ndjson"], in: dir).status == 0)
            let redrive = try Self.json(try Self.tool(["redrive", "--spool", spool.path, "--json"], in: dir))
            #expect(redrive["moved"] as? Int == 40)
            var rest: [[String: Any]] = []
            var cursor = middle.cursor
            while let current = cursor {
                let next = try page(["--limit", "4", "--cursor", current])
                rest += next.data
                cursor = next.cursor
            }
            let remaining = try Self.droppedRecords(spool).map(source)
            #expect(remaining.count == 40)
            let seen = Set(middle.data.map(source))
            #expect(rest.map(source) == remaining.filter { !seen.contains($0) })
        }
    }

    /// Issue 27: a page cut by its limit says on standard error, in every format, how
    /// many more match and the commands that get them; `--all` lists every match in every
    /// format, the same records a page of all of them holds, from a cursor too.
    @Test func aCutPageSaysHowManyMoreMatchAndAllListsEveryOne() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.lateTracksSpool(in: dir)
            let everything = try Self.droppedRecords(spool)
            #expect(everything.count == 80)
            func list(_ arguments: [String]) throws -> ProcessResult {
                try Self.tool(["audit", "list", "--spool", spool.path] + arguments, in: dir)
            }
            for format in ["csv", "json", "table"] {
                let page = try list(["--format", format, "--reason", "not_identified"])
                #expect(page.status == 0, "\(page.stderr)")
                #expect(page.stderr.contains("50 records; 30 more match: the next page with --cursor c1."), "\(format): \(page.stderr)")
                let all = "nudge-ingest audit list --spool \(spool.path) --reason not_identified" + (format == "table" ? "" : " --format \(format)") + " --all"
                #expect(page.stderr.contains(all), "\(format): \(page.stderr)")
                // The command it names lists the rest, as printed.
                let suggested = try Self.runSuggested(String(page.stderr[page.stderr.range(of: "nudge-ingest audit list")!.lowerBound...]), in: dir)
                #expect(suggested.status == 0 && suggested.stdoutText.components(separatedBy: "not_identified").count > 80, "\(suggested.stderr)")
            }
            // A last page says nothing more in CSV or JSON; the table says "no more".
            #expect(try list(["--format", "csv", "--limit", "1000"]).stderr.isEmpty)
            #expect(try list(["--format", "json", "--limit", "1000"]).stderr.isEmpty)
            #expect(try list(["--limit", "1000"]).stderr == "80 records; no more\n")

            // --all: every record in each format, as one page of all of them gives them.
            let csv = try list(["--format", "csv", "--all"])
            #expect(csv.status == 0 && csv.stderr.isEmpty, "\(csv.stderr)")
            #expect(csv.stdout == (try list(["--format", "csv", "--limit", "1000"])).stdout)
            #expect(csv.stdoutText.split(separator: "\r\n").count == 81)
            let json = try list(["--format", "json", "--all"])
            try ReplayTests.expectValid(json.stdout, schema: "audit-list")
            #expect(json.stdout == (try list(["--format", "json", "--limit", "1000"])).stdout)
            let table = try list(["--all"])
            #expect(table.stdoutText.split(separator: "\n").count == 80 && table.stderr == "80 records\n")
            #expect(table.stdout == (try list(["--limit", "1000"])).stdout)
            // From a cursor, filtered: the rest of the selection.
            let first = try Self.json(try list(["--format", "json", "--limit", "50"]))
            let rest = try Self.json(try list(["--format", "json", "--all", "--cursor", first["next_cursor"] as! String]))
            let source = { (r: [String: Any]) in "\((r["source"] as! [String: Any])["file"]!):\((r["source"] as! [String: Any])["line"]!)" }
            #expect((rest["data"] as! [[String: Any]]).map(source) == everything.suffix(30).map(source))
            #expect(rest["has_more"] as? Bool == false && rest["next_cursor"] is NSNull)
            let e3 = try list(["--format", "csv", "--all", "--event", "E3"]).stdoutText.split(separator: "\r\n")
            #expect(e3.count == 1 + everything.filter { $0["event"] as? String == "E3" }.count)

            // --all and --limit contradict each other.
            let both = try list(["--all", "--limit", "5"])
            #expect(both.status == 1 && both.stderr.contains("--all lists every match: leave out --limit"), "\(both.stderr)")
        }
    }

    /// Issue 27: `audit list --all` streams: a listing of 19.5 MB raises the tool's peak
    /// resident set by far less than that over a listing of nothing from the same spool
    /// (collecting the records, or the text, would raise it by at least as much).
    @Test(.disabled(if: sanitizerInUse != nil, "a sanitizer's shadow memory is not the tool's"))
    func allStreamsInBoundedMemory() throws {
        try withTemporaryDirectory { dir in
            // 6,000 pages of 3 KB: unsupported_type drops.
            let padding = String(repeating: "x", count: 3000)
            let lines = (0..<6_000).map { #"{"type":"page","userId":"u\#($0)","name":"\#(padding)"}"# }
            try DurabilityTests.writeLines(lines, to: dir.appendingPathComponent("pages.ndjson"))
            #expect(try Self.tool(["run", "--spool", "spool", "pages.ndjson"], in: dir).status == 0)
            let list = [toolPath, "audit", "list", "--spool", dir.appendingPathComponent("spool").path, "--format", "json", "--all"]
            let nothing = try runMeasured(list[0], Array(list.dropFirst()) + ["--event", "none of them"])
            let listed = try runMeasured(list[0], Array(list.dropFirst()))
            #expect(nothing.status == 0 && listed.status == 0, "\(listed.stderr)")
            #expect(listed.stdout.count > 19_000_000)
            let end = Data((#"],"next_cursor":null,"has_more":false}"# + "\n").utf8)
            #expect(listed.stdout.suffix(end.count) == end)
            #expect(listed.peakKiB - nothing.peakKiB < 6 * 1024,
                    "peak RSS \(listed.peakKiB) KiB listing \(listed.stdout.count) bytes, \(nothing.peakKiB) KiB listing none")
        }
    }

    /// Runs a command the tool suggested, as a user pastes it into bash, `nudge-ingest`
    /// being the tool under test.
    static func runSuggested(_ command: String, in dir: URL) throws -> ProcessResult {
        let environment = ProcessInfo.processInfo.environment.merging(["NUDGE_TOOL": toolPath]) { $1 }
        return try runProgram("/bin/bash", ["-c", #"set -o pipefail; nudge-ingest() { "$NUDGE_TOOL" "$@"; }; "# + command],
                              currentDirectory: dir, environment: environment)
    }

    /// The first command in backquotes in `text` that starts with `nudge-ingest`.
    static func quotedCommand(in text: String) -> String? {
        text.firstMatch(of: /`(nudge-ingest [^`]*)`/).map { String($0.1) }
    }

    /// Issue 27: every command the tool suggests quotes its paths, so a spool named with
    /// spaces and a quote gives commands that run as pasted: run's and audit's redrive,
    /// audit's `audit list`, the HTML page's, a cut page's, a missing spool's `run`, a
    /// misplaced subcommand's.
    @Test func suggestedCommandsQuoteTheirPaths() throws {
        // The quoting itself, read back by bash.
        for text in ["spool", "s3://bucket/logs/", "weird dir", "it's", "$HOME", #"a"b"#, "", #"back\slash"#,
                     "new\nline", "ü spool", "*", "--x"] {
            let echoed = try runProgram("/bin/bash", ["-c", "printf %s " + text.shellQuoted])
            #expect(echoed.stdoutText == text, "\(text) quoted as \(text.shellQuoted)")
        }
        #expect("spool".shellQuoted == "spool" && "weird dir".shellQuoted == "'weird dir'")

        try withTemporaryDirectory { dir in
            let input = try Self.writeExport(in: dir)
            let name = "weird dir/it's a spool"
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("weird dir"), withIntermediateDirectories: true)
            let run = try Self.tool(["run", "--spool", name, input], in: dir)
            #expect(run.status == 0, "\(run.stderr)")
            let redrive = try #require(Self.quotedCommand(in: run.stderr), "\(run.stderr)")
            #expect(redrive == #"nudge-ingest redrive --spool 'weird dir/it'\''s a spool'"#)

            let report = try Self.tool(["audit", "--spool", name, "--html", "audit.html"], in: dir)
            #expect(report.status == 0, "\(report.stderr)")
            #expect(Self.quotedCommand(in: report.stdoutText) == redrive)
            let pageThrough = try #require(report.stdoutText.firstMatch(of: /Page through them: (.*)/).map { String($0.1) })
            let listed = try Self.runSuggested(pageThrough.replacing("REASON", with: "not_identified"), in: dir)
            #expect(listed.status == 0 && listed.stdoutText.contains("not_identified"), "\(listed.stderr)")

            let html = try String(contentsOf: dir.appendingPathComponent("audit.html"), encoding: .utf8)
            let fromPage = try #require(html.firstMatch(of: /<code>(nudge-ingest audit list [^<]*)<\/code>/).map { String($0.1) })
            let unescaped = fromPage.replacing("&#39;", with: "'").replacing("&quot;", with: "\"")
                .replacing("&lt;", with: "<").replacing("&gt;", with: ">").replacing("&amp;", with: "&")
            let listedFromPage = try Self.runSuggested(unescaped, in: dir)
            #expect(listedFromPage.status == 0 && !listedFromPage.stdout.isEmpty, "\(unescaped): \(listedFromPage.stderr)")

            let redriven = try Self.runSuggested(redrive, in: dir)
            #expect(redriven.status == 0 && redriven.stderr.contains("moved to accepted"), "\(redriven.stderr)")

            let missing = try Self.tool(["audit", "--spool", "no such spool"], in: dir)
            #expect(missing.status == 1 && missing.stderr.contains("run `nudge-ingest run --spool 'no such spool' INPUT…` first"),
                    "\(missing.stderr)")
            let misplaced = try Self.tool(["audit", "--spool", name, "list", "--event", "Signed Up"], in: dir)
            let corrected = try #require(misplaced.stderr.firstMatch(of: /options go after the subcommand: (.*)/).map { String($0.1) })
            let listedAfter = try Self.runSuggested(corrected, in: dir)
            #expect(listedAfter.status == 0 && listedAfter.stdoutText.contains("Signed Up"), "\(corrected): \(listedAfter.stderr)")
        }
    }

    /// Issue 27: the examples in `preview --help` and `audit list --help`, printed at 80
    /// columns, run as they are printed (a re-wrapped line would break them).
    @Test func helpExamplesRunAsPrintedAt80Columns() throws {
        try withTemporaryDirectory { dir in
            _ = try Self.makeSpool(in: dir)
            let jq = FileManager.default.isExecutableFile(atPath: "/usr/bin/jq")
            var ran = 0
            for command in [["preview"], ["audit", "list"], ["audit"]] {
                let help = try Self.tool(command + ["--help"], in: dir, environment: ["COLUMNS": "80"]).stdoutText
                var examples: [String] = []
                var continuing = false
                for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
                    if continuing {
                        examples[examples.count - 1] += "\n" + line
                    } else if line.hasPrefix("  nudge-ingest ") {
                        examples.append(String(line))
                    } else {
                        continue
                    }
                    // A line that goes on: a backslash, or a quote left open.
                    let example = examples[examples.count - 1]
                    continuing = line.hasSuffix("\\") || example.filter { $0 == "'" }.count % 2 == 1
                }
                #expect(!examples.isEmpty, "\(command): \(help)")
                for example in examples where !example.contains("…") && (jq || !example.contains("jq")) {
                    let result = try Self.runSuggested(example, in: dir)
                    #expect(result.status == 0, "\(command): \(example)\n\(result.stderr)")
                    ran += 1
                }
            }
            #expect(ran >= 6)
        }
    }

    /// Issue 27: redrive's summary aligns its counts whatever the reasons' names and the
    /// counts' widths, for a dry run and a redrive alike.
    @Test func redriveAlignsItsColumns() throws {
        try withTemporaryDirectory { dir in
            // 1,200 not_identified and 15 anonymous_only tracks that a later file identifies, 3 never.
            var early: [String] = [], late: [String] = []
            for i in 0..<1_200 {
                early.append(#"{"type":"track","userId":"late-\#(i)","event":"E","timestamp":"2025-03-10T00:00:00Z"}"#)
                late.append(#"{"type":"identify","userId":"late-\#(i)"}"#)
            }
            for i in 0..<15 {
                early.append(#"{"type":"track","anonymousId":"anon-\#(i)","event":"E","timestamp":"2025-03-10T00:00:00Z"}"#)
                late.append(#"{"type":"identify","userId":"known-\#(i)","anonymousId":"anon-\#(i)"}"#)
            }
            for i in 0..<3 {
                early.append(#"{"type":"track","userId":"never-\#(i)","event":"E","timestamp":"2025-03-10T00:00:00Z"}"#)
            }
            try DurabilityTests.writeLines(early, to: dir.appendingPathComponent("1-early.ndjson"))
            try DurabilityTests.writeLines(late, to: dir.appendingPathComponent("2-late.ndjson"))
            #expect(try Self.tool(["run", "--spool", "spool", "1-early.ndjson", "2-late.ndjson"], in: dir).status == 0)
            for arguments in [["--dry-run"], []] {
                let redrive = try Self.tool(["redrive", "--spool", "spool"] + arguments, in: dir)
                #expect(redrive.status == 0, "\(redrive.stderr)")
                let rows = redrive.stderr.split(separator: "\n").dropFirst().filter { $0.contains(/\d  |\d$/) && !$0.contains("commit") }
                #expect(rows.count == 4, "\(redrive.stderr)")
                // Each count ends in the same column, and each starts after its label's column.
                let ends = rows.map { row in row.firstMatch(of: /^ +[a-z_ ]+?  +[\d,]+/).map { $0.output.count } }
                #expect(!ends.contains(nil) && Set(ends).count == 1, "\(redrive.stderr)")
                #expect(rows.contains { $0.contains(/not_identified +1,200$/) } && rows.contains { $0.contains(/anonymous_only +15$/) },
                        "\(redrive.stderr)")
                #expect(rows.last?.hasSuffix("      3  kept with their reason") == true, "\(redrive.stderr)")
            }
        }
    }

    // MARK: - preview

    /// Every reason code, and both accepted kinds, previewed against a spool's state;
    /// accepted bodies equal what `run` writes for the same event; nothing changes.
    @Test func previewShowsEveryReasonAndChangesNothing() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.makeSpool(in: dir)
            let before = try DurabilityTests.SpoolContents(spool)
            let stateBefore = try FileManager.default.contentsOfDirectory(atPath: spool.appendingPathComponent("state").path)
                .filter { $0 != "message-ids" }.sorted().map { try Data(contentsOf: spool.appendingPathComponent("state/" + $0)) }
            let cases: [(event: String, expected: String)] = [
                (String(repeating: " ", count: 200) + "{}", "line_too_long"),
                ("{\"type\":\"track\",", "malformed_json"),
                ("[1,2]", "not_an_object"),
                (#"{"type":"track","messageId":"m9"}"#, "duplicate_message_id"),
                (#"{"event":"x"}"#, "missing_type"),
                (#"{"type":"screen","userId":"ana"}"#, "unsupported_type"),
                (#"{"type":"identify"}"#, "missing_user_id"),
                (#"{"type":"track","anonymousId":"stranger","event":"E","timestamp":"2025-03-10T00:00:00Z"}"#, "anonymous_only"),
                (#"{"type":"identify","userId":true}"#, "invalid_user_id"),
                (#"{"type":"track","userId":"ana","event":"  "}"#, "missing_event"),
                (#"{"type":"track","userId":"ana","event":"E","timestamp":"2025-02-30T00:00:00Z"}"#, "invalid_timestamp"),
                (#"{"type":"track","userId":"nobody","event":"E","timestamp":"2025-03-10T00:00:00Z"}"#, "not_identified"),
                (#"{"type":"track","anonymousId":"anon-1","event":"Late Event","timestamp":"2025-03-10T08:00:00+02:00"}"#, "track"),
                (#"{"type":"identify","userId":"New Person","traits":{"name":"N","plan":"pro"}}"#, "identify"),
            ]
            #expect(Set(cases.map(\.expected)).isSuperset(of: ReasonCode.allCases.filter { $0 != .corruptInput }.map(\.rawValue)))
            for (event, expected) in cases {
                let result = try Self.tool(["preview", "--spool", spool.path, "--max-line-bytes", "100", "--json", event], in: dir)
                #expect(result.status == 0, "\(result.stderr)")
                try ReplayTests.expectValid(result.stdout, schema: "preview-outcome")
                let outcome = try Self.json(result)
                let record = outcome["record"] as! [String: Any]
                let decided = outcome["would_accept"] as? Bool == true ? record["kind"] as? String : record["reason"] as? String
                #expect(decided == expected, "\(event): \(result.stdoutText)")
                // The reason and detail are the dropped record's own.
                #expect(outcome["reason"] as? String == record["reason"] as? String)
                #expect(outcome["detail"] as? String == record["detail"] as? String)
                // Accepted: the body `run` writes for the same event on a copy of the spool.
                if outcome["would_accept"] as? Bool == true {
                    let copy = dir.appendingPathComponent("copy-\(expected)")
                    try FileManager.default.copyItem(at: spool, to: copy)
                    try Data((event + "\n").utf8).write(to: dir.appendingPathComponent("one.ndjson"))
                    #expect(try Self.tool(["run", "--spool", copy.path, "one.ndjson"], in: dir).status == 0)
                    let written = try EndToEndTests.spoolRecords(copy.appendingPathComponent("accepted")).last!
                    #expect(NSDictionary(dictionary: written["body"] as! [String: Any])
                            == NSDictionary(dictionary: record["body"] as! [String: Any]))
                    #expect(written["resolved_via"] as? String == record["resolved_via"] as? String)
                }
                // The text form names the same decision.
                let text = try Self.tool(["preview", "--spool", spool.path, "--max-line-bytes", "100", event], in: dir)
                #expect(text.stdoutText.contains(expected == "track" || expected == "identify" ? "ACCEPTED \(expected)" : "DROPPED \(expected)"))
            }
            // NDJSON on standard input: in order, each seeing the ones before.
            let stream = [#"{"type":"identify","userId":"Zed","anonymousId":"z-anon"}"#,
                          #"{"type":"track","anonymousId":"z-anon","event":"E","timestamp":"2025-03-10T00:00:00Z"}"#,
                          "", #"{"type":"track","userId":"zed","event":"E","timestamp":"bad"}"#].joined(separator: "\n")
            let piped = try Self.tool(["preview", "--spool", spool.path, "--json", "-"], in: dir, stdin: Data(stream.utf8))
            let outcomes = try piped.stdoutText.split(separator: "\n").map { try #require(try parseJSON(Data($0.utf8)) as? [String: Any]) }
            #expect(outcomes.map { $0["line"] as! Int } == [1, 2, 4])
            #expect(outcomes.map { $0["would_accept"] as! Bool } == [true, true, false])
            #expect((outcomes[1]["record"] as! [String: Any])["resolved_via"] as? String == "anonymous_id")

            #expect(try DurabilityTests.SpoolContents(spool) == before)
            let stateAfter = try FileManager.default.contentsOfDirectory(atPath: spool.appendingPathComponent("state").path)
                .filter { $0 != "message-ids" }.sorted().map { try Data(contentsOf: spool.appendingPathComponent("state/" + $0)) }
            #expect(stateAfter == stateBefore)
        }
    }

    // MARK: - redrive

    /// Redrive moves the late tracks, keeps the rest with their reason, conserves every
    /// record, is idempotent, and `replay` then has the moved records to deliver.
    @Test func redriveMovesLateTracksConservesRecordsAndIsIdempotent() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.makeSpool(in: dir)
            func sources(_ folder: String) throws -> [String] {
                try EndToEndTests.spoolRecords(spool.appendingPathComponent(folder)).map {
                    let source = $0["source"] as! [String: Any]
                    return "\(source["file"]!):\(source["line"]!)"
                }
            }
            let acceptedBefore = try sources("accepted"), droppedBefore = try sources("dropped")

            let dry = try Self.tool(["redrive", "--spool", spool.path, "--dry-run", "--json"], in: dir)
            try ReplayTests.expectValid(dry.stdout, schema: "redrive-summary")
            let dryRun = try Self.json(dry)
            #expect(dryRun["moved"] as? Int == 2 && dryRun["commit"] is NSNull)
            #expect(try sources("dropped") == droppedBefore)

            // A filter narrows it: only the anonymous one.
            let narrow = try Self.json(try Self.tool(["redrive", "--spool", spool.path, "--json", "--reason", "anonymous_only"], in: dir))
            #expect(narrow["moved"] as? Int == 1 && narrow["commit"] as? Int == 3)
            let result = try Self.tool(["redrive", "--spool", spool.path, "--json"], in: dir)
            try ReplayTests.expectValid(result.stdout, schema: "redrive-summary")
            let summary = try Self.json(result)
            #expect(summary["moved"] as? Int == 1)
            #expect(summary["selected"] as? Int == 3)  // the not_identified tracks of User 42 and nobody ×2
            #expect(summary["commit"] as? Int == 4)

            // Conservation: the same records, each in exactly one spool.
            let acceptedAfter = try sources("accepted"), droppedAfter = try sources("dropped")
            #expect(Set(acceptedAfter).isDisjoint(with: droppedAfter))
            #expect((acceptedAfter + droppedAfter).sorted() == (acceptedBefore + droppedBefore).sorted())
            #expect(acceptedAfter.count == acceptedBefore.count + 2)
            let moved = try EndToEndTests.spoolRecords(spool.appendingPathComponent("accepted")).suffix(2)
            #expect(moved.map { ($0["body"] as! [String: Any])["ext_id"] as! String } == ["user_42", "user_42"])
            #expect(moved.first!["resolved_via"] as? String == "anonymous_id")
            #expect((moved.last!["body"] as! [String: Any])["occurred_at"] as? String == "2025-03-09T10:00:00.000Z")
            // The still-dropped keep their reason; the report agrees.
            let report = try Self.json(try Self.tool(["audit", "--spool", spool.path, "--format", "json"], in: dir))
            #expect(report["redriven"] as? Int == 2 && report["dropped"] as? Int == 7 && report["accepted"] as? Int == 5)
            for file in report["files"] as! [[String: Any]] {
                #expect(file["records"] as! Int == (file["accepted"] as! Int) + (file["dropped"] as! Int))
            }
            try DurabilityTests.validate(spool)

            // Twice changes nothing; a run and a replay see a sound spool.
            let contents = try DurabilityTests.SpoolContents(spool)
            let again = try Self.json(try Self.tool(["redrive", "--spool", spool.path, "--json"], in: dir))
            #expect(again["moved"] as? Int == 0 && again["commit"] is NSNull)
            #expect(try DurabilityTests.SpoolContents(spool) == contents)
            // A dry replay prints each request, then its summary as the last line.
            if toolCanReplay {
                let replay = try Self.tool(["replay", "--spool", spool.path, "--dry-run", "--json"], in: dir)
                let replaySummary = try #require(try parseJSON(Data(replay.stdoutText.split(separator: "\n").last!.utf8)) as? [String: Any])
                #expect(replaySummary["sent"] as? Int == 5, "every accepted record, the redriven ones included")
            }
        }
    }

    /// A redrive killed at each step of its commit, then run again, ends as the
    /// uninterrupted one; a reader between its commit point and its renames already
    /// sees the records moved.
    @Test func aKilledRedriveFinishesAsTheUninterruptedOne() throws {
        try withTemporaryDirectory { dir in
            let reference = try Self.makeSpool(in: dir)
            #expect(try Self.tool(["redrive", "--spool", reference.path], in: dir).status == 0)
            let expected = try DurabilityTests.SpoolContents(reference)
            for point in ["synced", "renamed", "ledger-half", "committed", "replaced-one"] {
                let spool = dir.appendingPathComponent("spool-\(point)")
                #expect(try Self.tool(["run", "--spool", spool.path, "segment-logs"], in: dir).status == 0)
                let killed = try Self.tool(["redrive", "--spool", spool.path], in: dir,
                                           environment: ["NUDGE_INGEST_CRASH_AT": "\(point)@3"])
                #expect(killed.status != 0, "\(point)")
                if point == "committed" || point == "replaced-one" {
                    let report = try Self.json(try Self.tool(["audit", "--spool", spool.path, "--format", "json"], in: dir))
                    #expect(report["dropped"] as? Int == 7, "\(point): a reader sees the commit whole")
                }
                let rerun = try Self.tool(["redrive", "--spool", spool.path], in: dir)
                #expect(rerun.status == 0, "\(point): \(rerun.stderr)")
                #expect(try DurabilityTests.SpoolContents(spool) == expected, "\(point)")
                let hidden = try FileManager.default.contentsOfDirectory(atPath: spool.appendingPathComponent("dropped").path)
                    .filter { $0.hasPrefix(".") }
                #expect(hidden.isEmpty, "\(point): \(hidden)")
                try DurabilityTests.validate(spool)
            }
        }
    }

    // MARK: - collisions

    @Test func collisionsListRawUserIdsMergedIntoOneExtID() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.makeSpool(in: dir)
            // A second run continues the counts from the saved state.
            try DurabilityTests.writeLines([
                #"{"type":"identify","userId":"User 42"}"#,
                #"{"type":"track","userId":"User 42","event":"E","timestamp":"2025-03-10T00:00:00Z"}"#,
                #"{"type":"identify","userId":"Ana"}"#,
                #"{"type":"identify","userId":"ana"}"#,
                #"{"type":"identify","userId":"ΟΔΟΣ"}"#,
                #"{"type":"track","userId":"οδος","event":"E","timestamp":"2025-03-10T00:00:00Z"}"#,
                #"{"type":"identify","userId":7}"#,
                #"{"type":"identify","userId":"7"}"#,
            ], to: dir.appendingPathComponent("more.ndjson"))
            #expect(try Self.tool(["run", "--spool", spool.path, "more.ndjson"], in: dir).status == 0)
            let result = try Self.tool(["audit", "collisions", "--spool", spool.path, "--format", "json"], in: dir)
            try ReplayTests.expectValid(result.stdout, schema: "audit-collisions")
            let collisions = (try Self.json(result)["collisions"] as! [[String: Any]]).map { entry in
                (entry["ext_id"] as! String, Dictionary(uniqueKeysWithValues: (entry["user_ids"] as! [[String: Any]]).map {
                    ($0["user_id"] as! String, $0["records"] as! Int)
                }))
            }
            let byExtID = Dictionary(uniqueKeysWithValues: collisions)
            #expect(byExtID.count == 3, "\(collisions)")
            // user_42: "User 42" ×3 (a track dropped before any identify of the user, an identify,
            // a track), "USER 42" (an accepted track), "user_42" (an identify; its duplicate is not counted).
            #expect(byExtID["user_42"] == ["User 42": 3, "USER 42": 1, "user_42": 1])
            // ana: a page names no user; the identify and the track past rule 9 do.
            #expect(byExtID["ana"] == ["Ana": 3, "ana": 1])
            #expect(byExtID["οδος"] == ["ΟΔΟΣ": 1, "οδος": 1])
            #expect(byExtID["7"] == nil, "an integer and its text are one raw form")
            #expect(collisions.first?.0 == "user_42")

            let table = try Self.tool(["audit", "collisions", "--spool", spool.path], in: dir)
            #expect(table.stdoutText.contains("\"User 42\""))
            let csv = try Self.tool(["audit", "collisions", "--spool", spool.path, "--format", "csv"], in: dir)
            #expect(csv.stdoutText.contains("user_42,User 42,3"))
        }
    }
}
