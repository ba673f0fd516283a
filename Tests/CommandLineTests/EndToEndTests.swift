import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// The built `nudge-ingest` binary on real files, checked by independent tools:
/// the JSON Schemas (Python `jsonschema`), the Python reference implementation, and
/// the hand-read expectations for the published Segment examples.
@Suite(.serialized) struct EndToEndTests {
    struct Run {
        var result: ProcessResult
        var spool: URL
        var summary: [String: Any]
        var accepted: [[String: Any]]
        var dropped: [[String: Any]]
    }

    static func spoolRecords(_ folder: URL) throws -> [[String: Any]] {
        try spoolFileNames(in: folder).flatMap { name in
            try InMemoryRun.records(spoolFileRecords(folder.appendingPathComponent(name)))
        }
    }

    static func run(_ arguments: [String], in dir: URL, stdin: Data? = nil) throws -> Run {
        let spool = dir.appendingPathComponent("spool-\(UUID().uuidString.prefix(8))")
        let result = try runProgram(toolPath, ["run", "--spool", spool.path, "--json"] + arguments, stdin: stdin,
                                    currentDirectory: dir)
        let summary = (try? parseJSON(result.stdout)) as? [String: Any] ?? [:]
        return Run(result: result, spool: spool, summary: summary,
                   accepted: try spoolRecords(spool.appendingPathComponent("accepted")),
                   dropped: try spoolRecords(spool.appendingPathComponent("dropped")))
    }

    /// Validates the spool and summary against `schemas/` with the project's checker.
    static func validate(_ run: Run) throws {
        let summaryFile = run.spool.deletingLastPathComponent().appendingPathComponent("summary-\(run.spool.lastPathComponent).json")
        try run.result.stdout.write(to: summaryFile)
        let check = try runProgram("/usr/bin/env", ["python3", repositoryRoot.appendingPathComponent("scripts/validate_spool.py").path,
                                                     "--spool", run.spool.path, "--summary", summaryFile.path])
        #expect(check.status == 0, "validate_spool.py: \(check.stdoutText) \(check.stderr)")
    }

    /// Compares the spool with the Python reference implementation's on the same inputs.
    static func compareWithReference(_ run: Run, _ inputs: [String], in dir: URL) throws {
        let reference = dir.appendingPathComponent("reference-\(UUID().uuidString.prefix(8))")
        let scripts = repositoryRoot.appendingPathComponent("scripts")
        let made = try runProgram("/usr/bin/env", ["python3", scripts.appendingPathComponent("reference_ingest.py").path,
                                                   "--out", reference.path] + inputs, currentDirectory: dir)
        #expect(made.status == run.result.status, "reference exit \(made.status): \(made.stderr)")
        let compared = try runProgram("/usr/bin/env", ["python3", scripts.appendingPathComponent("compare_spools.py").path,
                                                       "--reference", reference.path, "--spool", run.spool.path])
        #expect(compared.status == 0, "\(compared.stdoutText)\(compared.stderr)")
    }

    static func checkConservation(_ run: Run) {
        let summary = run.summary
        let records = summary["records"] as? Int ?? -1
        #expect(records == (summary["accepted"] as? Int ?? -2) + (summary["dropped"] as? Int ?? -2))
        #expect(run.accepted.count == summary["accepted"] as? Int)
        let faults = run.dropped.filter { $0["reason"] as? String == "corrupt_input" }.count
        #expect(run.dropped.count - faults == summary["dropped"] as? Int)
        for input in summary["inputs"] as? [[String: Any]] ?? [] {
            #expect(input["records"] as? Int == (input["accepted"] as? Int ?? -1) + (input["dropped"] as? Int ?? -1))
        }
    }

    @Test func publishedSegmentExamplesMatchTheHandReadExpectations() throws {
        try withTemporaryDirectory { dir in
            let corpus = segmentCorpus.appendingPathComponent("segment-spec-examples.ndjson").path
            let run = try Self.run([corpus], in: dir)
            #expect(run.result.status == 0)
            let expected = try String(contentsOf: fixtures.appendingPathComponent("segment-spec-examples.expected.tsv"), encoding: .utf8)
                .split(separator: "\n").dropFirst().map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
            let outcomes = Outcome.all(accepted: run.accepted, dropped: run.dropped)
            #expect(outcomes.map(\.line) == Array(1...55) && expected.count == 55)
            for (outcome, row) in zip(outcomes, expected) {
                #expect(outcome.code == row[1], "corpus line \(row[0]): \(row[4])")
                if row[1].hasPrefix("accepted") {
                    #expect((outcome.record["body"] as? [String: Any])?["ext_id"] as? String == row[2], "corpus line \(row[0])")
                    #expect((outcome.record["resolved_via"] as? String ?? "") == row[3], "corpus line \(row[0])")
                }
            }
            try Self.validate(run)
            try Self.compareWithReference(run, [corpus], in: dir)
        }
    }

    /// Ugly input of every kind, in plain, gzip, multi-member and truncated files and on
    /// standard input: the spools must match the reference implementation's exactly.
    @Test func uglyInputsMatchTheReferenceImplementation() throws {
        try withTemporaryDirectory { dir in
            let corpus = try Data(contentsOf: segmentCorpus.appendingPathComponent("segment-spec-examples.ndjson"))
            var tricky = [UInt8]()
            let lines = [
                "{\"type\":\"identify\",\"userId\":\"Ünïcödé User\",\"anonymousId\":\"anon-é\",\"traits\":{\"email\":\"MiXed@Case.ORG\",\"name\":\"Zoë\",\"when\":\"2020-01-01T00:00:00-05:00\",\"k\":1,\"k\":2}}",
                "{\"type\":\"track\",\"event\":\"Ordér Completed\",\"anonymousId\":\"mixed@case.org\",\"timestamp\":\"2020-01-01T00:00:00.123456+05:30\",\"properties\":{\"a\":[\"2020-02-29T12:00:00+0100\",{\"b\":\"\\u00e9\\ud83d\\ude00\"}],\"n\":1.50e+3}}",
                "{\"type\":\"track\",\"event\":\"x\",\"userId\":42,\"timestamp\":\"2020-01-01T00:00:00Z\"}",
                "{\"type\":\"identify\",\"userId\":42,\"context\":{\"timezone\":\"Asia/Kolkata\"},\"traits\":{\"phone\":5551234,\"email\":null}}",
                "{\"type\":\"track\",\"event\":\"x\",\"userId\":42,\"timestamp\":\"2020-01-01T00:00:00Z\",\"messageId\":\"dup\"}",
                "{\"type\":\"track\",\"event\":\"x\",\"userId\":42,\"timestamp\":\"2020-01-01T00:00:00Z\",\"messageId\":\"dup\"}",
                "{\"type\":\"alias\",\"userId\":\"ΟΔΟΣ\",\"previousId\":\"legacy-1\"}",
                "{\"type\":\"identify\",\"userId\":\"οδος\"}",
                "{\"type\":\"track\",\"event\":\" \",\"anonymousId\":\"legacy-1\",\"timestamp\":\"2020-01-01T00:00:00Z\"}",
                "{\"type\":\"track\",\"event\":\"Seen\",\"anonymousId\":\"LEGACY-1\",\"timestamp\":\"2020-01-01T00:00:00Z\",\"properties\":[1]}",
                "{\"type\":\"track\",\"event\":\"Seen\",\"userId\":4.2e1,\"timestamp\":\"2020-01-01T00:00:00Z\"}",
                "  \t ", "", "[\"not\",\"object\"]", "{\"type\":\"identify\",\"userId\":\"u\",}", "{\"a\":\"\\ud800\"}",
                "{\"control\":\"\u{01}\"}", "{\"type\":\"track\",\"event\":\"e\",\"userId\":\"οδος\",\"timestamp\":\"2020-02-30T00:00:00Z\"}",
                "{\"type\":\"identify\",\"userId\":\"with \\\"quotes\\\" and \\\\ and \\n\",\"traits\":{\"name\":\"\\u0000\"}}",
                String(repeating: "[", count: 1001) + String(repeating: "]", count: 1001),
            ]
            for line in lines { tricky += Array(line.utf8) + (line.hasPrefix("{\"type\":\"track\"") ? [0x0D, 0x0A] : [0x0A]) }
            tricky += Array("{\"type\":\"identify\",\"userId\":\"bad-utf8-".utf8) + [0xC3, 0x28, 0xFF] + Array("\"}\n".utf8)
            tricky += Array("{\"type\":\"identify\",\"userId\":\"long\",\"pad\":\"".utf8) + [UInt8](repeating: 0x61, count: 3000) + Array("\"}\n".utf8)
            tricky += Array("{\"cut\":\"".utf8) + (0..<4000).flatMap { $0 % 5 == 0 ? [0xE2, 0x82] : Array("é\\\"".utf8) } + Array("\"}\n".utf8)
            tricky += Array("{\"type\":\"identify\",\"userId\":\"last-without-newline\"}".utf8)

            let plain = dir.appendingPathComponent("a-plain.ndjson")
            try Data(tricky).write(to: plain)
            let segments = dir.appendingPathComponent("segment-logs/src/1700000000000")
            try FileManager.default.createDirectory(at: segments, withIntermediateDirectories: true)
            let half = corpus.count / 2
            try Data(try gzip([UInt8](corpus.prefix(half))) + gzip([UInt8](corpus.dropFirst(half))))
                .write(to: segments.appendingPathComponent("1.multi.gz"))
            let compressed = try gzip(tricky)
            try Data(compressed.prefix(compressed.count * 2 / 3)).write(to: segments.appendingPathComponent("2.truncated.gz"))
            try Data(compressed + Array("garbage".utf8)).write(to: segments.appendingPathComponent("3.garbage.gz"))
            // (A path that does not exist is a usage error, not a fault: see InputMistakeTests.)
            let inputs = ["a-plain.ndjson", "segment-logs", "-"]
            let stdin = Data(try gzip(Array("{\"type\":\"identify\",\"userId\":\"from-stdin\"}\n".utf8)))

            let run = try Self.run(inputs + ["--max-line-bytes", "2000"], in: dir, stdin: stdin)
            #expect(run.result.status == 2, "\(run.result.stderr)")
            Self.checkConservation(run)
            let statuses = (run.summary["inputs"] as? [[String: Any]])?.map { "\($0["path"]!)=\($0["status"]!)" }
            #expect(statuses == ["a-plain.ndjson=ok", "segment-logs/src/1700000000000/1.multi.gz=ok",
                                 "segment-logs/src/1700000000000/2.truncated.gz=corrupt",
                                 "segment-logs/src/1700000000000/3.garbage.gz=corrupt", "-=ok"])
            try Self.validate(run)

            // The reference reads standard input too; give it the same bytes.
            let stdinCopy = dir.appendingPathComponent("stdin.gz")
            try stdin.write(to: stdinCopy)
            let referenceRun = Run(result: run.result, spool: run.spool, summary: run.summary, accepted: run.accepted, dropped: run.dropped)
            try Self.compareWithReferenceReplacingStdin(referenceRun, inputs: inputs + ["--max-line-bytes", "2000"], stdin: stdin, in: dir)
        }
    }

    static func compareWithReferenceReplacingStdin(_ run: Run, inputs: [String], stdin: Data, in dir: URL) throws {
        let reference = dir.appendingPathComponent("reference")
        let scripts = repositoryRoot.appendingPathComponent("scripts")
        let made = try runProgram("/usr/bin/env", ["python3", scripts.appendingPathComponent("reference_ingest.py").path,
                                                   "--out", reference.path] + inputs, stdin: stdin, currentDirectory: dir)
        #expect(made.status == 2, "reference: \(made.stderr)")
        let compared = try runProgram("/usr/bin/env", ["python3", scripts.appendingPathComponent("compare_spools.py").path,
                                                       "--reference", reference.path, "--spool", run.spool.path])
        #expect(compared.status == 0, "\(compared.stdoutText)\(compared.stderr)")
    }

    /// A file whose name is not UTF-8 is still found and read; its name shows U+FFFD.
    @Test func fileNamesThatAreNotUTF8AreRead() throws {
        try withTemporaryDirectory { dir in
            let folder = dir.appendingPathComponent("d")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let line = "{\"type\":\"identify\",\"userId\":\"u\"}\n"
            let name: [UInt8] = Array(folder.path.utf8) + Array("/a".utf8) + [0xFF] + Array(".ndjson".utf8) + [0]
            let fd = name.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT, 0o600) } }
            try #require(fd >= 0)
            _ = line.withCString { write(fd, $0, strlen($0)) }
            close(fd)
            try Data(line.replacingOccurrences(of: "\"u\"", with: "\"v\"").utf8).write(to: folder.appendingPathComponent("b.ndjson"))
            let run = try Self.run([folder.path], in: dir)
            #expect(run.result.status == 0, "\(run.result.stderr)")
            #expect(run.summary["records"] as? Int == 2)
            let paths = (run.summary["inputs"] as? [[String: Any]])?.compactMap { $0["path"] as? String } ?? []
            #expect(paths == [folder.path + "/a\u{FFFD}.ndjson", folder.path + "/b.ndjson"])
        }
    }

    @Test func exitStatusesAndMessages() throws {
        try withTemporaryDirectory { dir in
            let ok = dir.appendingPathComponent("ok.ndjson")
            try Data("{\"type\":\"identify\",\"userId\":\"u\"}\n{\"bad\"\n".utf8).write(to: ok)
            let clean = try Self.run([ok.path], in: dir)
            #expect(clean.result.status == 0, "drops are not failures")
            #expect(clean.result.stderr.contains("1 accepted + 1 dropped"))
            #expect(clean.result.stderr.contains("records/s") && clean.result.stderr.contains("MB/s uncompressed"))

            let noInput = try runProgram(toolPath, ["run", "--spool", dir.appendingPathComponent("s").path])
            #expect(noInput.status == 1)
            #expect(noInput.stderr.contains("INPUT"))
            let badFlag = try runProgram(toolPath, ["run", "--max-line-bytes", "0", ok.path])
            #expect(badFlag.status == 1 && badFlag.stderr.contains("--max-line-bytes"))

            // The same input again: nothing to do, exit 0, the spool unchanged.
            let again = try runProgram(toolPath, ["run", "--spool", clean.spool.path, ok.path])
            #expect(again.status == 0)
            #expect(again.stderr.contains("nothing to do: 1 input was committed to this spool already"))
            #expect(try Self.spoolRecords(clean.spool.appendingPathComponent("accepted")).count == 1)
        }
    }

    /// A write that fails (here: the shell's file-size limit) stops the run with a clear
    /// message, exit 1, and no spool file, partial or whole, left behind.
    @Test(.disabled(if: sanitizerInUse == "thread", "ThreadSanitizer's runtime cannot start under a small file-size limit"))
    func aFailedWriteLeavesNothingBehind() throws {
        try withTemporaryDirectory { dir in
            let spool = dir.appendingPathComponent("spool").path
            let sample = repositoryRoot.appendingPathComponent("samples/segment-logs").path
            // 4 KiB: less than the first input's compressed accepted file.
            let result = try runProgram("/bin/bash", ["-c", "ulimit -f 4 && exec \"$0\" run --spool \"$1\" \"$2\"", toolPath, spool, sample])
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("cannot write") && result.stderr.contains("File too large"))
            for sub in ["accepted", "dropped"] {
                #expect(try FileManager.default.contentsOfDirectory(atPath: spool + "/" + sub).isEmpty, "\(sub) not empty")
            }
        }
    }

    @Test func usageErrorsExitWithStatusOne() throws {
        let noInput = try runProgram(toolPath, ["run"])
        #expect(noInput.status == 1, "\(noInput.status) \(noInput.stderr)")
        let unknown = try runProgram(toolPath, ["run", "--no-such-flag", "x"])
        #expect(unknown.status == 1)
    }

    @Test func theSpoolIsPrivate() throws {
        try withTemporaryDirectory { dir in
            let input = dir.appendingPathComponent("in.ndjson")
            try Data("{\"type\":\"identify\",\"userId\":\"u\",\"traits\":{\"email\":\"a@b.c\"}}\n[]\n".utf8).write(to: input)
            let run = try Self.run([input.path], in: dir)
            for path in [run.spool.path, run.spool.path + "/accepted", run.spool.path + "/dropped"] {
                let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
                #expect(mode == 0o700, "\(path)")
            }
            for sub in ["accepted", "dropped"] {
                let file = run.spool.appendingPathComponent(sub).appendingPathComponent("00000001.ndjson.gz").path
                #expect(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int == 0o600)
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: run.spool.path + "/accepted").filter { $0.hasPrefix(".") }
            #expect(leftovers.isEmpty)
        }
    }

    /// On a real terminal (a pseudo-terminal from util-linux's `script`) a progress line
    /// is redrawn in place and cleared before the summary; in a pipe there is none.
    @Test func progressLineOnATerminalOnly() throws {
        try withTemporaryDirectory { dir in
            let input = dir.appendingPathComponent("in.ndjson")
            let line = "{\"type\":\"track\",\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"properties\":{\"pad\":\"\(String(repeating: "x", count: 900))\"}}\n"
            try Data(String(repeating: line, count: 60_000).utf8).write(to: input)
            let command = "\(toolPath) run --spool \(dir.path)/tty-spool \(input.path)"
            let onTerminal = try runProgram("/usr/bin/env", ["script", "-qec", command, "/dev/null"])
            #expect(onTerminal.status == 0, "\(onTerminal.stderr)")
            #expect(onTerminal.stdoutText.contains("60,000 records from 1 input"))
            let piped = try runProgram(toolPath, ["run", "--spool", dir.path + "/pipe-spool", input.path])
            #expect(!piped.stderr.contains("\u{1B}[2K"))
        }
    }

    @Test func helpTeachesTheJob() throws {
        let top = try runProgram(toolPath, ["--help"])
        #expect(top.status == 0)
        #expect(top.stdoutText.contains("segment-logs/<source-id>/<received-day>"))
        let run = try runProgram(toolPath, ["run", "--help"])
        #expect(run.status == 0)
        for reason in ReasonCode.allCases {
            #expect(run.stdoutText.contains(reason.rawValue), "\(reason.rawValue) missing from run --help")
        }
        #expect(run.stdoutText.contains("accepted/NNNNNNNN.ndjson.gz"))
        #expect(run.stdoutText.contains("Exit status"))
        // Every command teaches its job, with an example and its exit statuses.
        for command in [["audit"], ["audit", "list"], ["audit", "collisions"], ["preview"], ["redrive"], ["replay"],
                        ["requeue"]] {
            let help = try runProgram(toolPath, command + ["--help"])
            #expect(help.status == 0, "\(command)")
            #expect(help.stdoutText.contains("Exit status"), "\(command)")
            #expect(help.stdoutText.contains("--spool"), "\(command)")
        }
        for subcommand in ["audit", "preview", "redrive", "replay", "requeue"] {
            #expect(top.stdoutText.contains(subcommand), "\(subcommand) missing from --help")
        }
        let version = try runProgram(toolPath, ["--version"])
        #expect(version.status == 0 && version.stdoutText == NudgeIngestVersion.current + "\n")
    }
}
