import Foundation
import NudgeTestSupport
import Testing

/// Compressed spools through the built binary: a kill that leaves a commit's file cut
/// at any member's end is recovered, a committed file cut short is refused, and a spool
/// written before compression is read by every command and continued.
@Suite struct CompressedSpoolTests {
    /// Two days of an app: day one identifies users and tracks some who are identified
    /// only on day two (redrivable), with enough page calls (dropped, raw kept whole)
    /// that day two's dropped file holds several members.
    static func writeExport(in dir: URL, pages: Int = 9_000) throws -> [String] {
        var day1: [String] = []
        var day2: [String] = []
        for user in 0..<60 {
            day1.append(#"{"type":"identify","userId":"u\#(user)","messageId":"i\#(user)","traits":{"email":"u\#(user)@example.com"}}"#)
            day1.append(#"{"type":"track","userId":"late\#(user)","event":"Early","messageId":"e\#(user)","timestamp":"2025-03-10T00:00:0\#(user % 10)Z"}"#)
            day1.append(#"{"type":"page","userId":"u\#(user)","name":"Home","messageId":"h\#(user)"}"#)
            day2.append(#"{"type":"identify","userId":"late\#(user)","messageId":"l\#(user)"}"#)
            day2.append(#"{"type":"track","userId":"u\#(user)","event":"Paid","messageId":"p\#(user)","timestamp":"2025-03-11T00:00:00Z"}"#)
        }
        for page in 0..<pages {
            day2.append(#"{"type":"page","userId":"u\#(page % 60)","name":"Pricing \#(page)","messageId":"pg\#(page)","properties":{"path":"/pricing/\#(page)","referrer":"https://example.com/\#(String(repeating: "r", count: page % 300))"}}"#)
        }
        let paths = ["export/1741564800000/day1.ndjson", "export/1741651200000/day2.ndjson"]
        for (path, lines) in zip(paths, [day1, day2]) {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        }
        return paths
    }

    static func tool(_ arguments: [String], in dir: URL) throws -> ProcessResult {
        try runProgram(toolPath, arguments, currentDirectory: dir)
    }

    /// Where each member of a compressed file starts, read from the headers' `NI` fields.
    static func memberStarts(_ bytes: Data) -> [Int] {
        var starts: [Int] = []
        var offset = 0
        while offset + 24 <= bytes.count {
            starts.append(offset)
            offset += bytes[offset + 16..<offset + 20].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        }
        return starts
    }

    /// A kill while commit 2's files are written leaves them cut anywhere: at a member's
    /// end or inside one, under the hidden name or (between the rename and the ledger
    /// line) under the final one. The next run removes them and writes the spool byte
    /// for byte as one run that was never killed; cut after it is committed, the file is
    /// refused by `run` and by the readers, never read short.
    @Test func aCommitCutAtAnyMemberIsRecoveredAndACommittedOneIsRefused() throws {
        try withTemporaryDirectory { dir in
            let inputs = try Self.writeExport(in: dir)
            let whole = dir.appendingPathComponent("whole")
            #expect(try Self.tool(["run", "--spool", whole.path] + inputs, in: dir).status == 0)
            let expected = try DurabilityTests.SpoolContents(whole)
            try DurabilityTests.validate(whole)
            let file = try Data(contentsOf: whole.appendingPathComponent("dropped/00000002.ndjson.gz"))
            let starts = Self.memberStarts(file)
            #expect(starts.count >= 3, "\(file.count) bytes in \(starts.count) members")

            let first = dir.appendingPathComponent("first")
            #expect(try Self.tool(["run", "--spool", first.path, inputs[0]], in: dir).status == 0)
            for (index, cut) in (starts.dropFirst() + [starts[1] + 1_000, file.count - 3]).enumerated() {
                for name in [".00000002.ndjson.gz.partial", "00000002.ndjson.gz"] {
                    let spool = dir.appendingPathComponent("cut-\(index)-\(name.hasPrefix(".") ? "hidden" : "placed")")
                    try FileManager.default.copyItem(at: first, to: spool)
                    try file.prefix(cut).write(to: spool.appendingPathComponent("dropped/" + name))
                    let rerun = try Self.tool(["run", "--spool", spool.path] + inputs, in: dir)
                    #expect(rerun.status == 0, "\(rerun.stderr)")
                    #expect(rerun.stderr.contains("of an interrupted commit (commit 2)"), "\(rerun.stderr)")
                    #expect(try DurabilityTests.SpoolContents(spool) == expected, "cut at \(cut) as \(name)")
                }
            }

            // Committed, then cut at a member's end: refused, never read as if whole.
            let damaged = dir.appendingPathComponent("damaged")
            try FileManager.default.copyItem(at: whole, to: damaged)
            try file.prefix(starts[2]).write(to: damaged.appendingPathComponent("dropped/00000002.ndjson.gz"))
            let run = try Self.tool(["run", "--spool", damaged.path] + inputs, in: dir)
            #expect(run.status == 1 && run.stderr.contains("the ledger says commit 2 wrote \(file.count) bytes"),
                    "\(run.stderr)")
            for command in [["audit"], ["audit", "list"]] {
                let read = try Self.tool(command + ["--spool", damaged.path], in: dir)
                #expect(read.status == 1 && read.stderr.contains("but the ledger gives it \(file.count)"),
                        "\(command): \(read.stderr)")
            }
        }
    }

    /// A spool from before compression (plain files, ledger lines without
    /// `"compression"`) is read by `audit`, `audit list`, `replay --dry-run` and `redrive`
    /// as the same spool compressed is, and a run continues it with compressed commits:
    /// the records, counts and requests are the same, and the plain file a redrive
    /// rewrites stays plain.
    @Test func aSpoolFromBeforeCompressionIsReadAndContinued() throws {
        try withTemporaryDirectory { dir in
            let inputs = try Self.writeExport(in: dir, pages: 200)
            let compressed = dir.appendingPathComponent("compressed"), old = dir.appendingPathComponent("old")
            for spool in [compressed, old] {
                #expect(try Self.tool(["run", "--spool", spool.path, inputs[0]], in: dir).status == 0)
            }
            try decompressSpool(old)
            #expect(spoolFileNames(in: old.appendingPathComponent("dropped")) == ["00000001.ndjson"])
            try DurabilityTests.validate(old)
            for spool in [compressed, old] {
                let run = try Self.tool(["run", "--spool", spool.path] + inputs, in: dir)
                #expect(run.status == 0, "\(run.stderr)")
            }
            #expect(spoolFileNames(in: old.appendingPathComponent("dropped")) == ["00000001.ndjson", "00000002.ndjson.gz"])
            try DurabilityTests.validate(old)

            // A build without the HTTP trait (CI's sanitizer builds) has no replay, dry or not.
            let dryReplay: [(command: [String], options: [String])] = toolCanReplay
                ? [(["replay"], ["--dry-run", "--verbose", "--api-key", "key", "--endpoint", "http://127.0.0.1:9"])] : []
            func outputs(_ spool: URL) throws -> [String] {
                let commands: [(command: [String], options: [String])] =
                    [(["audit"], ["--format", "json"]), (["audit", "list"], ["--all", "--format", "json"])] + dryReplay
                    + [(["redrive"], ["--json"]), (["audit", "list"], ["--all", "--format", "json"])]
                return try commands.map { command, options in
                    let result = try Self.tool(command + ["--spool", spool.path] + options, in: dir)
                    #expect(result.status == 0, "\(command) \(options): \(result.stderr)")
                    return result.stdoutText.replacingOccurrences(of: spool.path, with: "SPOOL")
                        .replacing(/"elapsed_seconds":[0-9.]+/, with: "")
                }
            }
            let (fromCompressed, fromOld) = (try outputs(compressed), try outputs(old))
            for (index, (new, before)) in zip(fromCompressed, fromOld).enumerated() {
                #expect(new == before, "command \(index)")
            }
            let redrive = try #require(try parseJSON(Data(fromOld[dryReplay.count + 2].utf8)) as? [String: Any])
            #expect(redrive["moved"] as? Int == 60 && redrive["files_rewritten"] as? Int == 1, "\(redrive)")
            // The redrive rewrote commit 1's plain dropped file plain, and wrote its own compressed.
            #expect(spoolFileNames(in: old.appendingPathComponent("dropped")) == ["00000001.ndjson", "00000002.ndjson.gz"])
            #expect(spoolFileNames(in: old.appendingPathComponent("accepted"))
                    == ["00000001.ndjson", "00000002.ndjson.gz", "00000003.ndjson.gz"])
            for folder in ["accepted", "dropped"] {
                #expect(try spoolRecordLines(old, folder) == spoolRecordLines(compressed, folder), "\(folder)")
            }
            try DurabilityTests.validate(old)
        }
    }
}
