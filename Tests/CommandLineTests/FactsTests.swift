import Foundation
import NudgeTestSupport
import Testing

/// `nudge-ingest facts`, the map step of a run spread over machines: its rows carry
/// everything the rules that read the identity state need, so a group-by over them
/// (`deploy/spark/groupby_decide.py`, run on DuckDB, keeping no state from record to
/// record) decides every record as `run` does; and the command reads, refuses and
/// fails as `run` would.
@Suite struct FactsTests {
    static func tool(_ arguments: [String], in dir: URL) throws -> ProcessResult {
        try runProgram(toolPath, arguments, currentDirectory: dir)
    }

    static func python(_ script: String, _ arguments: [String], in dir: URL) throws -> ProcessResult {
        try runProgram("/usr/bin/env", ["python3", repositoryRoot.appendingPathComponent(script).path] + arguments,
                       currentDirectory: dir)
    }

    /// Runs `run` over `inputs` (absolute paths, already in run's bytewise order) and
    /// `facts` over each, decides the facts with the group-by plan and checks every
    /// record of the spool against it; returns the checker's report.
    static func expectPlanDecidesAsRun(_ inputs: [String], in dir: URL) throws -> String {
        let run = try tool(["run", "--spool", "spool"] + inputs, in: dir)
        #expect(run.status == 0 || run.status == 2, "\(run.stderr)")
        var factsFiles: [String] = []
        for (index, input) in inputs.enumerated() {
            let out = dir.appendingPathComponent("facts/\(index).csv.gz").path
            let facts = try tool(["facts", "--out", out, "--json", input], in: dir)
            #expect(facts.status == 0 || facts.status == 2, "\(input): \(facts.stderr)")
            factsFiles.append(out)
        }
        let decided = try python("deploy/spark/groupby_decide.py", factsFiles, in: dir)
        try #require(decided.status == 0, "groupby_decide.py: \(decided.stderr)")
        try decided.stdout.write(to: dir.appendingPathComponent("decisions.tsv"))
        let check = try python("scripts/check_facts_plan.py", ["spool", "decisions.tsv"] + inputs, in: dir)
        #expect(check.status == 0, "\(check.stdoutText)\(check.stderr)")
        return check.stdoutText
    }

    /// Records that depend on each other across files, with the cases a group-by gets
    /// wrong first: sanitised ids that collide (`User 1`, `user_1`), anonymousIds that
    /// differ only in case (Greek final sigma included) and one equal to an email,
    /// users relinked over time, messageIds reused within and across files, integer
    /// and fractional userIds, bad timestamps, aliases before identifies.
    static func adversarialExport(in dir: URL, seed: UInt64) throws -> [String] {
        var random = SplitMix(state: seed)
        func pick<T>(_ choices: [T]) -> T { choices[Int.random(in: 0..<choices.count, using: &random)] }
        func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
        let users = [#""User 1""#, #""user_1""#, #""u2""#, #""U2""#, "7", "7.0", #""Ωμέγα""#, #""ωμέγα""#, #""u3""#, #""  ""#]
        let anonymous = ["a1", "A1", "ΣΊΣΥΦΟΣ", "σίσυφος", "σίσυφοσ", "mail@x.example", "MAIL@X.example", "a2", "a3"]
        let emails = ["mail@x.example", "Mail@X.Example", "other@x.example", "a2"]
        var paths: [String] = []
        for file in 0..<5 {
            var lines: [String] = []
            for line in 0..<Int.random(in: 40..<160, using: &random) {
                let id = chance(4) ? "" : #","messageId":"m\#(Int.random(in: 0..<400, using: &random))""#
                let time = chance(6) ? #""timestamp":"yesterday""# : #""timestamp":"2024-03-0\#(1 + file)T10:00:\#(String(line % 60).leftPadded(to: 2))Z""#
                let user = pick(users), anon = pick(anonymous)
                switch Int.random(in: 0..<100, using: &random) {
                case 0..<22:
                    let email = chance(60) ? #","traits":{"email":"\#(pick(emails))"}"# : ""
                    lines.append(#"{"type":"identify","userId":\#(user),"anonymousId":"\#(anon)"\#(email)\#(id),\#(time)}"#)
                case 22..<50: lines.append(#"{"type":"track","event":"E","userId":\#(user)\#(id),\#(time)}"#)
                case 50..<78: lines.append(#"{"type":"track","event":"E","anonymousId":"\#(anon)"\#(id),\#(time)}"#)
                case 78..<86: lines.append(#"{"type":"alias","userId":\#(user),"previousId":"\#(anon)"\#(id)}"#)
                case 86..<92: lines.append(#"{"type":"page","userId":\#(user)\#(id),\#(time)}"#)
                case 92..<96: lines.append(#"{"type":"track","userId":\#(user)\#(id),\#(time)}"#)  // no event
                default: lines.append(#"{"type":"track","event":"E","userId":\#(user)\#(id)"#)  // broken
                }
            }
            let url = dir.appendingPathComponent("export/\(file).ndjson")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            // CRLF in one file, LF in the others.
            try Data((lines.joined(separator: file == 2 ? "\r\n" : "\n") + "\n").utf8).write(to: url)
            paths.append(url.path)
        }
        return paths
    }

    @Test(arguments: [1, 2, 3] as [UInt64]) func theGroupByPlanDecidesAdversarialRecordsAsRunDoes(seed: UInt64) throws {
        try withTemporaryDirectory { dir in
            let report = try Self.expectPlanDecidesAsRun(try Self.adversarialExport(in: dir, seed: seed), in: dir)
            // Every kind of state-dependent outcome was reached, so each part of the plan was checked.
            for outcome in ["accepted:track", "dropped:not_identified", "dropped:anonymous_only", "dropped:duplicate_message_id"] {
                #expect(report.contains(outcome), "\(outcome) never happened: \(report)")
            }
        }
    }

    /// A generated dirty export (bad lines of every kind, a file of two gzip members
    /// split inside a line, a truncated last file).
    @Test func theGroupByPlanDecidesAGeneratedDirtyExportAsRunDoes() throws {
        try withTemporaryDirectory { dir in
            let generated = try Self.python("scripts/generate_export.py", [
                "--out", dir.path, "--events", "6000", "--files", "4", "--days", "2", "--users", "300", "--seed", "11",
                "--dirty", "0.15", "--truncate-last", "--multi-member",
            ], in: dir)
            try #require(generated.status == 0, "\(generated.stderr)")
            let inputs = try #require(FileManager.default.subpaths(atPath: dir.appendingPathComponent("segment-logs").path))
                .filter { $0.hasSuffix(".gz") }
                .map { dir.appendingPathComponent("segment-logs/" + $0).path }
                .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            #expect(inputs.count == 5)
            let report = try Self.expectPlanDecidesAsRun(inputs, in: dir)
            #expect(report.contains("accepted:track") && report.contains("dropped:malformed_json"), "\(report)")
        }
    }

    /// The rows of a small input, column by column: a record of each kind, CRLF and an
    /// invalid UTF-8 line; the summary's counts; the file is gzip that `gzip -dc` reads.
    @Test func rowsSayWhatTheRulesNeed() throws {
        try withTemporaryDirectory { dir in
            let lines: [[UInt8]] = [
                Array(#"{"type":"identify","userId":"Ann Lee","anonymousId":"a-1","traits":{"email":"Ann@X.example"},"messageId":"m1"}"#.utf8),
                Array(#"{"type":"track","event":"E","userId":"ann_lee","messageId":"m2","timestamp":"nope"}"#.utf8),
                Array(#"{"type":"track","event":"E","anonymousId":"A-1","timestamp":"2024-03-01T00:00:00Z"}"#.utf8),
                Array(#"{"type":"alias","userId":"bob","previousId":"a-2","messageId":"m1"}"#.utf8),
                Array(#"{"type":"page","userId":"bob"}"#.utf8),
                Array(#"{"type":"track","event":"E","userId":"b\#u{FF}"}"#.utf8).map { $0 == 0xC3 ? 0xFF : $0 },
                Array("[1,2]".utf8),
            ]
            let input = dir.appendingPathComponent("in.ndjson.gz")
            try Data(try gzip(Array(lines.map { $0 + [0x0D, 0x0A] }.joined()))).write(to: input)
            let result = try Self.tool(["facts", "--out", "facts.csv.gz", "--json", input.path], in: dir)
            #expect(result.status == 0, "\(result.stderr)")
            try ReplayTests.expectValid(result.stdout, schema: "facts-summary")
            let summary = try #require(try parseJSON(result.stdout) as? [String: Any])
            #expect(summary["records"] as? Int == 7 && summary["status"] as? String == "ok" && summary["format"] as? String == "gzip")
            let unzipped = try runProgram("/usr/bin/env", ["gzip", "-dc", dir.appendingPathComponent("facts.csv.gz").path])
            let rows = unzipped.stdoutText.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            let header = rows[0]
            #expect(header.first == "line_v1" && header.count == 20 && rows.dropFirst().allSatisfy { $0.count == 20 })
            func column(_ row: Int, _ name: String) -> String { rows[row][header.firstIndex(of: name)!] }
            func hex(_ text: String) -> String { text.utf8.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
            #expect(rows.count == 8)
            #expect(column(1, "kind") == "identify" && column(1, "ext_id_hex") == hex("ann_lee")
                    && column(1, "raw_user_id_hex") == hex("Ann Lee"))
            #expect(!column(1, "anonymous_hi").isEmpty && !column(1, "email_hi").isEmpty && !column(1, "message_hi").isEmpty)
            // The same sanitised user in both rows, found by its key.
            #expect(column(2, "kind") == "track" && column(2, "user_hi") == column(1, "user_hi")
                    && column(2, "user_lo") == column(1, "user_lo") && column(2, "timestamp_valid") == "0")
            #expect(column(2, "raw_user_id_hex").isEmpty)
            // An anonymous track's lowercase key is the identify's anonymousId key.
            #expect(column(3, "kind") == "anonymous_track" && column(3, "timestamp_valid") == "1")
            #expect(column(3, "lower_hi") == column(1, "anonymous_hi") && column(3, "exact_hi") != column(1, "anonymous_hi"))
            #expect(column(4, "kind") == "alias" && !column(4, "previous_hi").isEmpty && column(4, "message_hi") == column(1, "message_hi"))
            #expect(column(5, "kind") == "dropped" && column(5, "reason") == "unsupported_type")
            #expect(column(6, "kind") == "rejected" && column(6, "reason") == "malformed_json" && column(6, "message_hi").isEmpty)
            #expect(column(7, "kind") == "rejected" && column(7, "reason") == "not_an_object")
            #expect((1...7).map { column($0, "line_v1") } == (1...7).map(String.init))
        }
    }

    /// What cannot be read ends as `run` would end it, and nothing half-written is left.
    @Test func faultsRefusalsAndMistakes() throws {
        try withTemporaryDirectory { dir in
            // A truncated gzip input: the rows before the fault stand, exit 2.
            let whole = try gzip(Array(String(repeating: #"{"type":"page","userId":"u"}"# + "\n", count: 2_000).utf8))
            try Data(whole.prefix(whole.count - 30)).write(to: dir.appendingPathComponent("cut.gz"))
            let cut = try Self.tool(["facts", "--out", "cut.csv.gz", "--json", "cut.gz"], in: dir)
            #expect(cut.status == 2, "\(cut.stderr)")
            try ReplayTests.expectValid(cut.stdout, schema: "facts-summary")
            let summary = try #require(try parseJSON(cut.stdout) as? [String: Any])
            #expect(summary["status"] as? String == "corrupt" && (summary["fault"] as? [String: Any])?["line"] as? Int != nil)
            #expect((summary["records"] as? Int ?? 0) > 0 && (summary["records"] as? Int ?? 0) < 2_000)
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("cut.csv.gz").path))

            // A zip file is refused: exit 1, no facts file and no file aside.
            try Data([0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0, count: 60)).write(to: dir.appendingPathComponent("a.zip"))
            let zip = try Self.tool(["facts", "--out", "zip.csv.gz", "a.zip"], in: dir)
            #expect(zip.status == 1 && zip.stderr.contains("no facts written"), "\(zip.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("zip.csv") }.isEmpty)

            // Operator mistakes say what was looked at.
            for (arguments, expected) in [
                (["facts", "--out", "x.csv.gz", "missing.gz"], "missing.gz: no such file"),
                (["facts", "--out", "x.csv.gz", "."], "is a directory"),
                (["facts", "--out", "x.csv.gz", "s3://bucket/key.gz"], "download the object first"),
                (["facts", "cut.gz"], "--out"),
            ] {
                let result = try Self.tool(arguments, in: dir)
                #expect(result.status == 1 && result.stderr.contains(expected), "\(arguments): \(result.stderr)")
            }
        }
    }
}

/// A seeded random source (SplitMix64), so each adversarial export is the same every time.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
