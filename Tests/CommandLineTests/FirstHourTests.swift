import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// A newcomer's and an operator's first hour with the real binary: the odd files a
/// download folder holds, spools that are not there, long runs, Ctrl-C and narrow
/// terminals. The terminal ones run on a real pseudo-terminal (`scripts/pty_run.py`).
/// The tests are independent (each in its own folder) and run in parallel.
@Suite struct FirstHourTests {
    // MARK: - Helpers

    /// Runs the tool; `spool` is passed first when given.
    static func tool(_ arguments: [String], in dir: URL, stdin: Data? = nil) throws -> ProcessResult {
        try runProgram(toolPath, arguments, stdin: stdin, currentDirectory: dir)
    }

    /// `run --json` and its summary.
    static func run(_ spool: String, _ arguments: [String], in dir: URL) throws -> (ProcessResult, [String: Any]) {
        let result = try tool(["run", "--spool", spool, "--json"] + arguments, in: dir)
        return (result, (try? parseJSON(result.stdout)) as? [String: Any] ?? [:])
    }

    /// The tool on a real terminal `columns` wide: its exit status and what the terminal showed.
    static func onTerminal(_ arguments: [String], in dir: URL, columns: Int = 80,
                           interruptAfter: String? = nil) throws -> (status: Int, output: String) {
        var driver = [repositoryRoot.appendingPathComponent("scripts/pty_run.py").path, "--columns", "\(columns)"]
        if let interruptAfter { driver += ["--interrupt-after", interruptAfter] }
        let result = try runProgram("/usr/bin/env", ["python3"] + driver + ["--", toolPath] + arguments,
                                    currentDirectory: dir)
        let object = try #require(try parseJSON(result.stdout) as? [String: Any], "pty_run.py: \(result.stderr)")
        return (object["status"] as? Int ?? -1, object["output"] as? String ?? "")
    }

    /// What a terminal redraws in place: the text between carriage returns, with the
    /// erase-line sequence removed, for the segments `isProgress` picks.
    static func redraws(_ output: String, where isProgress: (String) -> Bool) -> [String] {
        output.replacingOccurrences(of: "\u{1B}[2K", with: "")
            .components(separatedBy: "\r").map { $0.replacingOccurrences(of: "\n", with: "") }
            .filter { !$0.isEmpty && isProgress($0) }
    }

    static func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// `files` plain NDJSON files of `lines` events each (identifies, then tracks of
    /// those users), made by Python for speed; about 170 bytes a line.
    static func makeExport(in folder: URL, files: Int, lines: Int) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let script = """
            import json, sys
            folder, files, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
            for f in range(files):
                with open("%s/part-%03d.ndjson" % (folder, f), "w") as out:
                    for i in range(lines):
                        u = "user_%d_%d" % (f, i % 500)
                        if i < 500:
                            e = {"type": "identify", "userId": u, "traits": {"email": u + "@example.com"}}
                        else:
                            e = {"type": "track", "userId": u, "event": "Viewed Page", "properties": {"n": i}}
                        e["messageId"] = "m-%d-%d" % (f, i)
                        e["timestamp"] = "2025-03-10T08:00:00Z"
                        out.write(json.dumps(e) + "\\n")
            """
        let made = try runProgram("/usr/bin/env", ["python3", "-c", script, folder.path, "\(files)", "\(lines)"])
        try #require(made.status == 0, "\(made.stderr)")
    }

    /// Lines per file of the exports whose runs must last seconds (progress, Ctrl-C): a
    /// sanitized binary is several times slower, so it needs fewer.
    static let slowRunLines = sanitizerInUse == nil ? 25_000 : 6_000

    static let identify = #"{"type":"identify","userId":"u1","traits":{"email":"u1@example.com"}}"#
    static func track(_ user: String, _ day: String = "2025-03-10") -> String {
        #"{"type":"track","userId":"\#(user)","event":"Signed Up","timestamp":"\#(day)T08:00:00Z"}"#
    }

    // MARK: - Spools that are not there

    @Test func readersSayThereIsNoSpoolInsteadOfDamage() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("empty"), withIntermediateDirectories: true)
            try Self.write("not a spool\n", to: dir.appendingPathComponent("downloads/notes.txt"))
            let commands: [[String]] = [
                ["audit"], ["audit", "list"], ["audit", "collisions"], ["replay", "--dry-run"],
                ["preview", Self.identify], ["requeue", "--dry-run"],
            ]
            for command in commands where toolCanReplay || command[0] != "replay" {
                for (spool, expected) in [("missing", "no spool at missing: run `nudge-ingest run --spool missing INPUT…` first"),
                                          ("empty", "no spool at empty"),
                                          ("downloads", "downloads is not a spool: it has no state/ledger.ndjson")] {
                    let args = command.count > 1 && command[0] == "audit"
                        ? command + ["--spool", spool] : [command[0], "--spool", spool] + command.dropFirst()
                    let result = try Self.tool(args, in: dir)
                    #expect(result.status == 1, "\(args)")
                    #expect(result.stderr.contains(expected), "\(args): \(result.stderr)")
                    #expect(!result.stderr.contains("damaged"), "\(args): \(result.stderr)")
                }
            }
        }
    }

    /// A build without the HTTP trait (CI's sanitizer builds) says why it cannot replay.
    @Test(.enabled(if: !toolCanReplay)) func aBuildWithoutHTTPSaysItCannotReplay() throws {
        try withTemporaryDirectory { dir in
            let result = try Self.tool(["replay", "--spool", "spool", "--dry-run"], in: dir)
            #expect(result.status != 0)
            #expect(result.stderr.contains("built without its HTTP trait"), "\(result.stderr)")
        }
    }

    @Test func aSpoolAnotherUserCannotReadSaysPermissionDenied() throws {
        try withTemporaryDirectory { dir in
            try Self.write(Self.identify + "\n", to: dir.appendingPathComponent("in.ndjson"))
            #expect(try Self.run("spool", ["in.ndjson"], in: dir).0.status == 0)
            // As another user: root reads anything, so as root the tool runs as nobody.
            let asOther: [String] = getuid() == 0 ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
            if getuid() != 0 { chmod(dir.appendingPathComponent("spool").path, 0) }
            defer { chmod(dir.appendingPathComponent("spool").path, 0o700) }
            for command in [["audit", "--spool", "spool"], ["preview", "--spool", "spool", Self.identify],
                            ["replay", "--dry-run", "--spool", "spool"]] where toolCanReplay || command[0] != "replay" {
                let argv = asOther + [toolPath] + command
                let result = try runProgram(argv[0], Array(argv.dropFirst()), currentDirectory: dir)
                #expect(result.status == 1)
                #expect(result.stderr.contains("permission denied: cannot read"), "\(command): \(result.stderr)")
                #expect(!result.stderr.contains("damaged"))
            }
        }
    }

    // MARK: - Inputs a user actually has

    @Test func theSameFileUnderTwoPathsIsReadOnce() throws {
        try withTemporaryDirectory { dir in
            // No messageId: only the skip keeps the copy's records from being accepted twice.
            let lines = [Self.identify, Self.track("u1")].joined(separator: "\n") + "\n"
            let bytes = try gzip(Array(lines.utf8))
            for path in ["export/2025-03-10/a.gz", "downloads/a (1).gz"] {
                try FileManager.default.createDirectory(at: dir.appendingPathComponent(path).deletingLastPathComponent(),
                                                        withIntermediateDirectories: true)
                try Data(bytes).write(to: dir.appendingPathComponent(path))
            }
            let (result, summary) = try Self.run("spool", ["export", "downloads"], in: dir)
            #expect(result.status == 0)
            #expect(summary["accepted"] as? Int == 2)
            let skipped = try #require(summary["skipped"] as? [[String: Any]])
            #expect(skipped.count == 1)
            #expect(skipped.first?["path"] as? String == "downloads/a (1).gz")
            #expect(skipped.first?["reason"] as? String == "same_content")
            #expect(skipped.first?["committed_path"] as? String == "export/2025-03-10/a.gz")
            let human = try Self.tool(["run", "--spool", "spool2", "export", "downloads"], in: dir)
            #expect(human.stderr.contains("skipped downloads/a (1).gz: same content as export/2025-03-10/a.gz"))
        }
    }

    @Test func anEmptyFileIsReportedAndNotCommitted() throws {
        try withTemporaryDirectory { dir in
            let file = dir.appendingPathComponent("export/part-1.gz")
            try Self.write("", to: file)
            let (first, summary) = try Self.run("spool", ["export"], in: dir)
            #expect(first.status == 0)
            #expect((summary["skipped"] as? [[String: Any]])?.first?["reason"] as? String == "empty")
            #expect((summary["inputs"] as? [Any])?.isEmpty == true)
            let ledger = try String(contentsOf: dir.appendingPathComponent("spool/state/ledger.ndjson"), encoding: .utf8)
            #expect(ledger.isEmpty)
            let human = try Self.tool(["run", "--spool", "spool", "export"], in: dir)
            #expect(human.stderr.contains("skipped export/part-1.gz: empty (0 bytes); not committed"), "\(human.stderr)")
            // The download completes: the file is read, not refused as changed.
            try Data(try gzip(Array((Self.identify + "\n").utf8))).write(to: file)
            let (second, after) = try Self.run("spool", ["export"], in: dir)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(after["accepted"] as? Int == 1)
        }
    }

    @Test func hiddenFilesAreSkippedAndNonJSONInputsWarned() throws {
        try withTemporaryDirectory { dir in
            let export = dir.appendingPathComponent("export")
            try Self.write(Self.identify + "\n", to: export.appendingPathComponent("1741564800000/a.ndjson"))
            try Self.write("\u{0}\u{5}Bud1 binary\n", to: export.appendingPathComponent(".DS_Store"))
            try Self.write("{\"type\":\"identify\",\"userId\":\"ghost\"}\n", to: export.appendingPathComponent(".git/objects/x"))
            try Self.write("1741564800000\n", to: export.appendingPathComponent("1741564800000/.done"))
            try Self.write("Segment export for ACME\nDownloaded 2025-03-12\n", to: export.appendingPathComponent("README.txt"))

            let (result, summary) = try Self.run("spool", ["export"], in: dir)
            #expect(result.status == 0)
            let leftOut = try #require(summary["left_out"] as? [String: [String]])
            #expect(Set(leftOut["hidden"] ?? []) == ["export/.DS_Store", "export/.git", "export/1741564800000/.done"])
            #expect((summary["inputs"] as? [[String: Any]])?.map { $0["path"] as? String } == ["export/1741564800000/a.ndjson", "export/README.txt"])
            #expect(summary["not_json_inputs"] as? [String] == ["export/README.txt"])
            #expect(summary["accepted"] as? Int == 1)

            let human = try Self.tool(["run", "--spool", "spool2", "export"], in: dir)
            #expect(human.stderr.contains("skipped 3 hidden files"))
            #expect(human.stderr.contains("warning: no line of export/README.txt is JSON (2 malformed_json drops)"))

            // --exclude leaves the README out; --include keeps only what matches.
            let (excluded, excludedSummary) = try Self.run("spool3", ["--exclude", "*.txt", "export"], in: dir)
            #expect(excluded.status == 0)
            #expect((excludedSummary["left_out"] as? [String: [String]])?["excluded"] == ["export/README.txt"])
            #expect((excludedSummary["not_json_inputs"] as? [String])?.isEmpty == true)
            let (_, included) = try Self.run("spool4", ["--include", "1741*/*.ndjson", "export"], in: dir)
            #expect((included["inputs"] as? [[String: Any]])?.count == 1)
            #expect((included["left_out"] as? [String: [String]])?["excluded"] == ["export/README.txt"])
            // A hidden file named on the command line is read: the user asked for it.
            let (_, named) = try Self.run("spool5", ["export/1741564800000/.done"], in: dir)
            #expect((named["inputs"] as? [Any])?.count == 1)
        }
    }

    @Test func symbolicLinksAreNamedAndFollowedOnRequestWithoutLooping() throws {
        try withTemporaryDirectory { dir in
            // Day folders kept elsewhere, linked into the export.
            try Self.write(Self.identify + "\n", to: dir.appendingPathComponent("store/1741564800000/a.ndjson"))
            try Self.write(Self.track("u1") + "\n", to: dir.appendingPathComponent("store/1741651200000/b.ndjson"))
            let export = dir.appendingPathComponent("export")
            try FileManager.default.createDirectory(at: export, withIntermediateDirectories: true)
            for day in ["1741564800000", "1741651200000"] {
                try FileManager.default.createSymbolicLink(atPath: export.appendingPathComponent(day).path,
                                                           withDestinationPath: "../store/\(day)")
            }
            // A link back up: a cycle a naive walk would never leave.
            try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("store/1741564800000/loop").path,
                                                       withDestinationPath: "..")
            try FileManager.default.createSymbolicLink(atPath: export.appendingPathComponent("gone").path,
                                                       withDestinationPath: "../nowhere")

            // Without --follow-symlinks the walk finds no input file: nothing to read, exit 1,
            // and the error names the links it skipped and the flag that reads them.
            let plain = try Self.tool(["run", "--spool", "spool", "export"], in: dir)
            #expect(plain.status == 1)
            #expect(plain.stderr.contains("export: no input file under this directory"), "\(plain.stderr)")
            #expect(plain.stderr.contains("skipped 3 symbolic links (export/1741564800000, export/1741651200000, export/gone); "
                                          + "--follow-symlinks reads them"), "\(plain.stderr)")

            let (followed, summary) = try Self.run("spool2", ["--follow-symlinks", "export"], in: dir)
            #expect(followed.status == 0)
            #expect((summary["inputs"] as? [[String: Any]])?.map { $0["path"] as? String }
                    == ["export/1741564800000/a.ndjson", "export/1741651200000/b.ndjson"])
            #expect(summary["accepted"] as? Int == 2)
            let leftOut = try #require(summary["left_out"] as? [String: [String]])
            // Breadth first: the day folders are read by their short paths; through the
            // loop (export/1741564800000/loop is store/) they are met again and skipped.
            #expect(leftOut["loops"] == ["export/1741564800000/loop/1741564800000", "export/1741564800000/loop/1741651200000"])
            #expect(leftOut["broken_links"] == ["export/gone"])
        }
    }

    // MARK: - Summaries that scale

    @Test func aLongRunsSummaryListsTheInputsWithMostDropsAndEveryFault() throws {
        try withTemporaryDirectory { dir in
            let export = dir.appendingPathComponent("export")
            for i in 0..<25 {
                // Input i has i dropped lines (missing_type), so 15–24 have the most.
                let lines = [#"{"type":"identify","userId":"u\#(i)"}"#] + Array(repeating: "{}", count: i)
                try Self.write(lines.joined(separator: "\n") + "\n", to: export.appendingPathComponent(String(format: "part-%02d.ndjson", i)))
            }
            // Two truncated gzip files with few drops: faults are always listed.
            for name in ["part-00a.gz", "part-01a.gz"] {
                let whole = try gzip(Array((Self.track(name) + "\n" + Self.track("y") + "\n").utf8))
                try Data(whole.prefix(whole.count - 12)).write(to: export.appendingPathComponent(name))
            }
            let result = try Self.tool(["run", "--spool", "spool", "export"], in: dir)
            #expect(result.status == 2)
            let listed = result.stderr.split(separator: "\n").filter { $0.hasPrefix("    export/") }.map {
                String($0.dropFirst(4).prefix(while: { $0 != " " }))
            }
            #expect(listed == ["export/part-00a.gz", "export/part-01a.gz"] + (15..<25).map { "export/part-\($0).ndjson" })
            #expect(result.stderr.contains("    … 15 more inputs, all complete (--json lists every input)"))
            let (_, summary) = try Self.run("spool2", ["export"], in: dir)
            #expect((summary["inputs"] as? [Any])?.count == 27)
        }
    }

    @Test func auditShowsMonthsPastTwoMonthsOfDaysAndJSONKeepsDays() throws {
        try withTemporaryDirectory { dir in
            // 70 days of tracks whose user is never identified.
            var lines: [String] = []
            let start = Date(timeIntervalSince1970: 1_735_689_600)  // 2025-01-01
            for day in 0..<70 {
                let date = ISO8601DateFormatter().string(from: start.addingTimeInterval(Double(day) * 86_400)).prefix(10)
                lines.append(Self.track("ghost", String(date)))
            }
            try Self.write(lines.joined(separator: "\n") + "\n", to: dir.appendingPathComponent("in.ndjson"))
            _ = try Self.run("spool", ["in.ndjson"], in: dir)
            let table = try Self.tool(["audit", "--spool", "spool"], in: dir).stdoutText
            #expect(table.contains("By month (70 days: --format json lists each day)"))
            #expect(table.contains("  2025-01             31  not_identified 31"))
            #expect(table.contains("  2025-02             28  not_identified 28"))
            #expect(table.contains("  2025-03             11  not_identified 11"))
            #expect(!table.contains("2025-01-05"))
            let json = try #require(try parseJSON(try Self.tool(["audit", "--spool", "spool", "--format", "json"], in: dir).stdout) as? [String: Any])
            #expect((json["days"] as? [Any])?.count == 70)
        }
    }

    @Test func runAndAuditSayHowManyDroppedTracksRedriveWouldAcceptNow() throws {
        try withTemporaryDirectory { dir in
            // Day 1: tracks of u1 (not identified yet), an anonymous track of a visitor
            // who signs up later, one with a bad timestamp. Day 2: their identify.
            let day1 = [
                Self.track("u1"), Self.track("u1"), Self.track("never"),
                #"{"type":"track","anonymousId":"anon-7","event":"Viewed","timestamp":"2025-03-10T09:00:00Z"}"#,
                #"{"type":"track","anonymousId":"anon-7","event":"Viewed","timestamp":"yesterday"}"#,
                // Linked by an alias to u9, whose identify comes later: not_identified, through the link.
                #"{"type":"alias","userId":"u9","previousId":"anon-9"}"#,
                #"{"type":"track","anonymousId":"anon-9","event":"Viewed","timestamp":"2025-03-10T09:30:00Z"}"#,
            ]
            let day2 = [Self.identify, #"{"type":"identify","userId":"u7","anonymousId":"anon-7"}"#,
                        #"{"type":"identify","userId":"u9"}"#]
            try Self.write(day1.joined(separator: "\n") + "\n", to: dir.appendingPathComponent("export/1741564800000/a.ndjson"))
            try Self.write(day2.joined(separator: "\n") + "\n", to: dir.appendingPathComponent("export/1741651200000/b.ndjson"))
            let (result, summary) = try Self.run("spool", ["export"], in: dir)
            #expect(result.status == 0)
            #expect(summary["redrivable_tracks"] as? Int == 4)
            let human = try Self.tool(["run", "--spool", "other", "export"], in: dir)
            #expect(human.stderr.contains("4 dropped tracks can be accepted now (their identify came later): "
                                          + "run `nudge-ingest redrive --spool other`"))
            let audit = try Self.tool(["audit", "--spool", "spool"], in: dir).stdoutText
            #expect(audit.contains("4 dropped tracks can be accepted now"))
            let json = try #require(try parseJSON(try Self.tool(["audit", "--spool", "spool", "--format", "json"], in: dir).stdout) as? [String: Any])
            #expect(json["redrivable_tracks"] as? Int == 4)
            // What redrive then moves is that count, and afterwards nothing is left to say.
            let redrive = try #require(try parseJSON(try Self.tool(["redrive", "--spool", "spool", "--json"], in: dir).stdout) as? [String: Any])
            #expect(redrive["moved"] as? Int == 4, "\(redrive)")
            #expect(!(try Self.tool(["audit", "--spool", "spool"], in: dir).stdoutText.contains("can be accepted now")))

            // On the sample export (every drop reason, links of every kind): the run, the
            // audit and a dry redrive agree.
            let sample = repositoryRoot.appendingPathComponent("samples/segment-logs").path
            let (_, sampleRun) = try Self.run("sample", [sample], in: dir)
            let sampleAudit = try #require(try parseJSON(try Self.tool(["audit", "--spool", "sample", "--format", "json"], in: dir).stdout) as? [String: Any])
            let dryRun = try #require(try parseJSON(try Self.tool(["redrive", "--spool", "sample", "--dry-run", "--json"], in: dir).stdout) as? [String: Any])
            let wouldMove = try #require(dryRun["moved"] as? Int)
            #expect(wouldMove > 0)
            #expect(sampleRun["redrivable_tracks"] as? Int == wouldMove)
            #expect(sampleAudit["redrivable_tracks"] as? Int == wouldMove)
        }
    }

    // MARK: - The command line

    @Test func previewReadsItsArgumentAsBytes() throws {
        try withTemporaryDirectory { dir in
            try Self.write(Self.identify + "\n", to: dir.appendingPathComponent("in.ndjson"))
            _ = try Self.run("spool", ["in.ndjson"], in: dir)
            // The shell passes the byte 0xFF; a String argument could not carry it.
            let result = try runProgram("/bin/sh", ["-c", #"\#(toolPath) preview --spool spool "$(printf '{"type":"identify","userId":"u\377"}')""#],
                                        currentDirectory: dir)
            #expect(result.status == 0)
            #expect(result.stdoutText.contains("DROPPED malformed_json"), "\(result.stdoutText)")
            #expect(result.stdoutText.contains("invalid UTF-8"))
        }
    }

    @Test func versionHelpAndMessagesSayWhatIsTrue() throws {
        try withTemporaryDirectory { dir in
            let version = try Self.tool(["--version"], in: dir)
            #expect(version.status == 0)
            #expect(version.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == NudgeIngestVersion.current)

            // run --help lists the rules in the order they apply: missing_event (rule 9)
            // after the identify's user-id codes (7) and before the track's (10).
            let help = try Self.tool(["run", "--help"], in: dir).stdoutText
            let order = ["1. line_too_long", "6. unsupported_type", "7. user-id codes", "9. missing_event",
                         "10. user-id codes", "11. invalid_timestamp", "12. not_identified"]
            let positions = order.map { help.range(of: $0)?.lowerBound }
            #expect(!positions.contains(nil), "\(help)")
            #expect(positions.compactMap { $0 }.sorted() == positions.compactMap { $0 })

            try Self.write(Self.identify + "\n", to: dir.appendingPathComponent("in.ndjson"))
            _ = try Self.run("spool", ["in.ndjson"], in: dir)
            let boolean = try Self.tool(["preview", "--spool", "spool",
                                         #"{"type":"track","userId":false,"event":"x","timestamp":"2025-03-10T08:00:00Z"}"#], in: dir)
            #expect(boolean.stdoutText.contains("track userId false is a boolean: Nudge takes a string or an integer"),
                    "\(boolean.stdoutText)")

            let misplaced = try Self.tool(["audit", "--spool", "spool", "list", "--reason", "not_identified"], in: dir)
            #expect(misplaced.status != 0)
            #expect(misplaced.stderr.contains("options go after the subcommand: nudge-ingest audit list --spool spool --reason not_identified"),
                    "\(misplaced.stderr)")
        }
    }

    // MARK: - On a terminal

    @Test func theProgressLineFitsANarrowTerminalWithOverallShareAndETA() throws {
        try withTemporaryDirectory { dir in
            let folder = dir.appendingPathComponent("segment-logs/Ky9Pf34qY6-a-rather-long-source-id/1741564800000")
            try Self.makeExport(in: folder, files: 6, lines: Self.slowRunLines)
            let (status, output) = try Self.onTerminal(["run", "--spool", "spool", "segment-logs"], in: dir, columns: 80)
            #expect(status == 0)
            let lines = Self.redraws(output) { $0.hasPrefix("[") }
            #expect(lines.count >= 3, "\(output)")
            for line in lines {
                #expect(line.count <= 79, "wider than the terminal: \(line)")
                #expect(line.contains("% of ") && line.contains(" MB") && line.contains("records"), "\(line)")
            }
            #expect(lines.contains { $0.contains("ETA ") }, "\(lines)")
            #expect(lines.contains { $0.contains("…") }, "the path is shortened in its middle: \(lines)")
            // The overall share grows over the inputs.
            let shares = lines.compactMap { line in line.split(separator: " ").dropFirst().first.flatMap { Int($0.dropLast()) } }
            #expect(shares == shares.sorted() && (shares.last ?? 0) > 50, "\(shares)")
        }
    }

    @Test func ctrlCInRunCommitsWhatWasReadAndTheSameCommandContinues() throws {
        try withTemporaryDirectory { dir in
            try Self.makeExport(in: dir.appendingPathComponent("export"), files: 8, lines: Self.slowRunLines)
            let command = ["run", "--spool", "spool", "export"]
            let (status, output) = try Self.onTerminal(command, in: dir, interruptAfter: "[3/8]")
            #expect(status == 130, "\(output)")
            let committed = try String(contentsOf: dir.appendingPathComponent("spool/state/ledger.ndjson"), encoding: .utf8)
                .split(separator: "\n").count
            #expect(committed >= 2 && committed < 8)
            #expect(output.contains("interrupted: \(committed) of 8 inputs committed; run the same command again to continue"),
                    "\(output)")
            // No half-written file of the abandoned input is left behind.
            let partials = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("spool/accepted").path)
                .filter { $0.hasPrefix(".") }
            #expect(partials.isEmpty)

            let (again, summary) = try Self.run("spool", ["export"], in: dir)
            #expect(again.status == 0)
            #expect((summary["inputs"] as? [Any])?.count == 8 - committed)
            #expect((summary["skipped"] as? [Any])?.count == committed)
            // Together, exactly what one uninterrupted run gives.
            let (_, whole) = try Self.run("whole", ["export"], in: dir)
            let audit = { (spool: String) throws -> [String: Any] in
                try #require(try parseJSON(try Self.tool(["audit", "--spool", spool, "--format", "json"], in: dir).stdout) as? [String: Any])
            }
            #expect(try audit("spool")["records"] as? Int == whole["records"] as? Int)
            #expect(try audit("spool")["accepted"] as? Int == whole["accepted"] as? Int)
        }
    }

    @Test func auditListAndRedriveShowProgressOnATerminal() throws {
        try withTemporaryDirectory { dir in
            try Self.write((0..<2000).map { _ in Self.track("late") }.joined(separator: "\n") + "\n",
                           to: dir.appendingPathComponent("export/1741564800000/a.ndjson"))
            try Self.write(#"{"type":"identify","userId":"late"}"# + "\n", to: dir.appendingPathComponent("export/1741651200000/b.ndjson"))
            _ = try Self.run("spool", ["export"], in: dir)
            for (command, label) in [(["audit", "--spool", "spool"], "audit: reading the dropped spool"),
                                     (["audit", "list", "--spool", "spool", "--reason", "missing_type"], "audit list: reading the dropped spool"),
                                     (["redrive", "--spool", "spool", "--dry-run"], "redrive: deciding the dropped tracks again")] {
                let (status, output) = try Self.onTerminal(command, in: dir, columns: 70)
                #expect(status == 0, "\(command): \(output)")
                #expect(output.contains("\r\u{1B}[2K" + label), "\(command): \(output)")
                for line in Self.redraws(output, where: { $0.hasPrefix(label) }) {
                    #expect(line.count <= 69 && line.contains("%"))
                }
            }
            // Not on a terminal: no progress in the output.
            #expect(!(try Self.tool(["audit", "--spool", "spool"], in: dir).stderr.contains("reading the dropped spool")))
        }
    }
}
