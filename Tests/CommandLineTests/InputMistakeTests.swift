import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeSystem

/// Issue #27, `run`'s side, on the real binary: the plausible mistakes that used to end
/// in exit 0 and a spool changed for good. A walk never reads a spool; nothing to read
/// (a typo, an empty folder) is an error with nothing committed; zip, bzip2, xz and
/// zstd are refused by their first bytes; JSON that is not NDJSON is warned about; a
/// fault read whole later is shown resolved by `audit`; `run --help` stays
/// copy-pasteable at 80 columns. Each test in its own folder.
@Suite struct InputMistakeTests {
    static func tool(_ arguments: [String], in dir: URL, stdin: Data? = nil) throws -> ProcessResult {
        try FirstHourTests.tool(arguments, in: dir, stdin: stdin)
    }

    static func write(_ bytes: [UInt8], to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    static func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    /// The spool's ledger lines (its commits).
    static func commits(_ spool: URL) throws -> [String] {
        let ledger = spool.appendingPathComponent("state/ledger.ndjson")
        guard exists(ledger) else { return [] }
        return String(decoding: try Data(contentsOf: ledger), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    static let identify = FirstHourTests.identify
    static let track = FirstHourTests.track("u1")

    // MARK: - A walk never reads a spool

    @Test func runDotTwiceWithTheSpoolInsideTheExportReadsOnlyTheExport() throws {
        try withTemporaryDirectory { dir in
            let export = dir.appendingPathComponent("export")
            try Self.write(Array((Self.identify + "\n").utf8), to: export.appendingPathComponent("1741564800000/a.ndjson"))
            try Self.write(try gzip(Array((Self.track + "\n").utf8)), to: export.appendingPathComponent("1741564800000/b.gz"))
            // Another spool, made earlier inside the export, is skipped too.
            let other = try Self.tool(["run", "--spool", "old-spool", "1741564800000/a.ndjson"], in: export)
            #expect(other.status == 0, "\(other.stderr)")

            let (first, summary) = try FirstHourTests.run("spool", ["."], in: export)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(summary["accepted"] as? Int == 2 && summary["dropped"] as? Int == 0, "\(first.stdoutText)")
            #expect((summary["left_out"] as? [String: [String]])?["spools"] == ["./old-spool"])
            try ReplayTests.expectValid(first.stdout, schema: "run-summary")

            // The second run finds its own spool (ledger, lock, records) in the walk, and skips it.
            let (second, again) = try FirstHourTests.run("spool", ["."], in: export)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stderr.contains("nothing to do: 2 inputs were committed to this spool already"), "\(second.stderr)")
            #expect(second.stderr.contains("skipped 2 spools (./old-spool, ./spool): a walk never reads a spool's files"),
                    "\(second.stderr)")
            #expect((again["left_out"] as? [String: [String]])?["spools"] == ["./old-spool", "./spool"])
            #expect(again["records"] as? Int == 0)
            try ReplayTests.expectValid(second.stdout, schema: "run-summary")
            #expect(try Self.commits(export.appendingPathComponent("spool")).count == 2)

            // A spool named, or a file inside one, is not an export: exit 1, nothing committed.
            let named = try Self.tool(["run", "--spool", "spool", "spool"], in: export)
            #expect(named.status == 1)
            #expect(named.stderr.contains("spool: a spool (it holds state/ledger.ndjson), not an export"), "\(named.stderr)")
            let inside = try Self.tool(["run", "--spool", "spool", "old-spool/accepted/00000001.ndjson.gz"], in: export)
            #expect(inside.status == 1)
            #expect(inside.stderr.contains("old-spool/accepted/00000001.ndjson.gz: inside the spool "), "\(inside.stderr)")
            #expect(inside.stderr.contains("Nothing was read or committed."))
            #expect(try Self.commits(export.appendingPathComponent("spool")).count == 2)
        }
    }

    // MARK: - Nothing to read is an error

    @Test func aTypoOrAFolderWithNoInputFileExitsOneAndCommitsNothing() throws {
        try withTemporaryDirectory { dir in
            try Self.write(Array((Self.identify + "\n").utf8), to: dir.appendingPathComponent("export/a.ndjson"))
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("empty"), withIntermediateDirectories: true)
            try Self.write(Array("x\n".utf8), to: dir.appendingPathComponent("hidden-only/.DS_Store"))
            let spool = dir.appendingPathComponent("spool")

            let typo = try Self.tool(["run", "--spool", "spool", "bad/nosuch"], in: dir)
            #expect(typo.status == 1)
            #expect(typo.stderr.contains("bad/nosuch: no such file or directory; check the path"), "\(typo.stderr)")
            #expect(typo.stderr.contains("Nothing was read or committed."))
            #expect(!Self.exists(spool), "a typo must not make a spool")

            // Every problem is named at once; the good input beside them is not committed either.
            let mixed = try Self.tool(["run", "--spool", "spool", "export", "empty", "hidden-only", "export/nosuch.gz"], in: dir)
            #expect(mixed.status == 1)
            #expect(mixed.stderr.contains("empty: no input file under this directory; name the folder or files"), "\(mixed.stderr)")
            #expect(mixed.stderr.contains("hidden-only: no input file under this directory (skipped 1 hidden file "
                                          + "(hidden-only/.DS_Store))"), "\(mixed.stderr)")
            #expect(mixed.stderr.contains("export/nosuch.gz: no such file or directory"))
            #expect(!Self.exists(spool))

            // Only files --exclude leaves out: the message says so.
            let excluded = try Self.tool(["run", "--spool", "spool", "--exclude", "*.ndjson", "export"], in: dir)
            #expect(excluded.status == 1)
            #expect(excluded.stderr.contains("left out 1 file by --include/--exclude (export/a.ndjson)"), "\(excluded.stderr)")

            // "Nothing to do" stays for inputs all committed already.
            #expect(try Self.tool(["run", "--spool", "spool", "export"], in: dir).status == 0)
            let again = try Self.tool(["run", "--spool", "spool", "export"], in: dir)
            #expect(again.status == 0 && again.stderr.contains("nothing to do"), "\(again.stderr)")
            #expect(try Self.commits(spool).count == 1)
        }
    }

    // MARK: - Other formats are named, not guessed

    static let zip: [UInt8] = [0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00] + Array("a.ndjson{}".utf8)
    static let bzip2: [UInt8] = Array("BZh91AY&SY".utf8) + [0x00, 0x01]
    static let xz: [UInt8] = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 0x00, 0x04, 0xE6, 0xD6]
    static let zstd: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x24, 0x00, 0x11]

    @Test func zipBzip2XzAndZstdAreRefusedByTheirFirstBytesAndNotCommitted() throws {
        try withTemporaryDirectory { dir in
            let files = ["export.zip": Self.zip, "part.ndjson.bz2": Self.bzip2, "part.xz": Self.xz, "part.zst": Self.zstd]
            for (name, bytes) in files { try Self.write(bytes, to: dir.appendingPathComponent("named/" + name)) }
            let spool = dir.appendingPathComponent("spool")
            let named = try Self.tool(["run", "--spool", "spool"] + files.keys.sorted().map { "named/" + $0 }, in: dir)
            #expect(named.status == 1)
            for expected in ["named/export.zip: a zip archive, not gzip or NDJSON; unzip it first",
                             "named/part.ndjson.bz2: bzip2-compressed, not gzip or NDJSON; decompress it first (bunzip2 -k FILE",
                             "named/part.xz: xz-compressed, not gzip or NDJSON; decompress it first (xz -dk FILE",
                             "named/part.zst: zstd-compressed, not gzip or NDJSON; decompress it first (zstd -d FILE"] {
                #expect(named.stderr.contains(expected), "\(expected)\n\(named.stderr)")
            }
            #expect(!Self.exists(spool))

            // In a walk, whatever the name, with the way to leave it out.
            try Self.write(Array((Self.identify + "\n").utf8), to: dir.appendingPathComponent("export/a.ndjson"))
            try Self.write(Self.zip, to: dir.appendingPathComponent("export/b.ndjson"))
            let walked = try Self.tool(["run", "--spool", "spool", "export"], in: dir)
            #expect(walked.status == 1)
            #expect(walked.stderr.contains("export/b.ndjson: a zip archive, not gzip or NDJSON; unzip it first "
                                           + "(unzip FILE) and name the files it holds, or leave it out with --exclude"),
                    "\(walked.stderr)")
            #expect(!Self.exists(spool))

            // Standard input is known by its first bytes as it is read: refused, not committed, exit 1.
            let piped = try Self.tool(["run", "--spool", "spool", "--json", "-"], in: dir, stdin: Data(Self.bzip2))
            #expect(piped.status == 1, "\(piped.stderr)")
            #expect(piped.stderr.contains("refused -: bzip2-compressed, not gzip or NDJSON"), "\(piped.stderr)")
            let summary = try #require(try parseJSON(piped.stdout) as? [String: Any])
            let refused = try #require(summary["refused"] as? [[String: Any]])
            #expect(refused.map { $0["format"] as? String } == ["bzip2"])
            #expect(summary["exit_status"] as? Int == 1 && summary["records"] as? Int == 0)
            try ReplayTests.expectValid(piped.stdout, schema: "run-summary")
            #expect(try Self.commits(spool).isEmpty)
            let dropped = try FileManager.default.contentsOfDirectory(atPath: spool.appendingPathComponent("dropped").path)
            #expect(dropped.isEmpty, "\(dropped)")
        }
    }

    @Test func jsonThatIsNotNDJSONIsProcessedAndWarned() throws {
        try withTemporaryDirectory { dir in
            let array = "[" + Self.identify + "," + Self.track + "]\n"
            let pretty = "{\n  \"type\": \"identify\",\n  \"userId\": \"u2\"\n}\n"
            try Self.write(Array(array.utf8), to: dir.appendingPathComponent("export/array.json"))
            try Self.write(try gzip(Array(pretty.utf8)), to: dir.appendingPathComponent("export/pretty.json.gz"))
            try Self.write(Array((Self.identify + "\n").utf8), to: dir.appendingPathComponent("export/z.ndjson"))
            let (result, summary) = try FirstHourTests.run("spool", ["export"], in: dir)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(summary["not_json_inputs"] as? [String] == ["export/array.json", "export/pretty.json.gz"])
            #expect((summary["reasons"] as? [String: Int])?["not_an_object"] == 1)
            try ReplayTests.expectValid(result.stdout, schema: "run-summary")

            let human = try Self.tool(["run", "--spool", "spool2", "export"], in: dir)
            #expect(human.stderr.contains("warning: no line of export/array.json is a JSON object (1 not_an_object): "
                                          + "a JSON array or a pretty-printed document is not NDJSON"), "\(human.stderr)")
            #expect(human.stderr.contains("jq -c '.[]' FILE"))
            #expect(human.stderr.contains("warning: no line of export/pretty.json.gz is JSON (4 malformed_json drops)"))
        }
    }

    // MARK: - The audit can become clean

    @Test func aFaultReadWholeLaterIsShownResolvedByAudit() throws {
        try withTemporaryDirectory { dir in
            var lines = [Self.identify.replacingOccurrences(of: "{", with: #"{"messageId":"m0","#)]
            for i in 1...400 {
                lines.append(FirstHourTests.track("u1").replacingOccurrences(of: "{", with: #"{"messageId":"m\#(i)","#))
            }
            let whole = try gzip(Array((lines.joined(separator: "\n") + "\n").utf8))
            let input = dir.appendingPathComponent("part.gz")
            try Self.write(Array(whole.prefix(whole.count * 2 / 3)), to: input)
            let faulted = try Self.tool(["run", "--spool", "spool", "part.gz"], in: dir)
            #expect(faulted.status == 2, "\(faulted.stderr)")
            let before = try Self.tool(["audit", "--spool", "spool", "--format", "json"], in: dir)
            let beforeReport = try #require(try parseJSON(before.stdout) as? [String: Any])
            #expect(beforeReport["unresolved_corrupt_inputs"] as? Int == 1)
            #expect((beforeReport["resolved_faults"] as? [Any])?.isEmpty == true)
            try ReplayTests.expectValid(before.stdout, schema: "audit-report")

            // Downloaded again, whole, and read with --reprocess-changed.
            try Self.write(whole, to: input)
            let reread = try Self.tool(["run", "--spool", "spool", "--reprocess-changed", "part.gz"], in: dir)
            #expect(reread.status == 0, "\(reread.stderr)")
            let after = try Self.tool(["audit", "--spool", "spool", "--format", "json", "--html", "audit.html"], in: dir)
            #expect(after.status == 0, "\(after.stderr)")
            let report = try #require(try parseJSON(after.stdout) as? [String: Any])
            try ReplayTests.expectValid(after.stdout, schema: "audit-report")
            #expect(report["corrupt_inputs"] as? Int == 1 && report["unresolved_corrupt_inputs"] as? Int == 0)
            let resolved = try #require((report["resolved_faults"] as? [[String: Any]])?.first)
            #expect(resolved["path"] as? String == "part.gz")
            #expect(resolved["fault_commit"] as? Int == 1 && resolved["resolved_commit"] as? Int == 2)
            // The lines before the fault, read twice: dropped again as duplicate_message_id.
            let firstRead = try #require(try parseJSON(Data(try Self.commits(dir.appendingPathComponent("spool"))[0].utf8))
                                         as? [String: Any])
            let faultedRecords = try #require((firstRead["inputs"] as? [[String: Any]])?.first?["records"] as? Int)
            #expect(faultedRecords > 0 && resolved["reread_records"] as? Int == faultedRecords)
            let duplicates = (report["reasons"] as? [[String: Any]])?.first { $0["reason"] as? String == "duplicate_message_id" }
            #expect(duplicates?["count"] as? Int == faultedRecords)

            let table = try Self.tool(["audit", "--spool", "spool"], in: dir)
            #expect(table.status == 0)
            #expect(table.stdoutText.contains("1 input fault (corrupt_input), resolved: read whole by a later commit"),
                    "\(table.stdoutText)")
            #expect(table.stdoutText.contains("part.gz: faulted in commit 1, read whole in commit 2; its \(faultedRecords) records"))
            #expect(table.stdoutText.contains("[1 fault, resolved]"), "\(table.stdoutText)")
            let html = try String(contentsOf: dir.appendingPathComponent("audit.html"), encoding: .utf8)
            #expect(!html.contains("Download it again"), "a resolved fault needs no download")
            #expect(html.contains("Resolved: every faulted input was read whole by a later commit"))
        }
    }

    // MARK: - run --help

    @Test func runHelpIsCopyPasteableAtEightyColumns() throws {
        try withTemporaryDirectory { dir in
            var environment = ProcessInfo.processInfo.environment
            environment["COLUMNS"] = "80"
            let help = try runProgram(toolPath, ["run", "--help"], currentDirectory: dir, environment: environment)
            #expect(help.status == 0)
            let text = help.stdoutText
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.contains { $0.trimmingCharacters(in: .whitespaces)
                                         == #"eval "$(aws configure export-credentials --format env)""# }, "\(text)")
            #expect(text.contains("130 interrupted"))
            // --jobs says its default once: the rule, and what it comes to on this machine.
            // Its entry in OPTIONS (the usage line names it too).
            let jobs = try #require(text.range(of: "\n  --jobs <N>"))
            let inflate = try #require(text.range(of: "\n  --inflate <BACKEND>"))
            let block = text[jobs.lowerBound..<inflate.lowerBound]
            #expect(block.components(separatedBy: "default").count == 2, "\(block)")
            #expect(block.contains("(default: the cores this"), "\(block)")
            #expect(block.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains("here \(availableCores()))"),
                    "\(block)")
        }
    }
}
