import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// Inputs built to hurt, through the real binary: each gets the contract's outcome,
/// exits normally, and stays within the memory bound that `--max-line-bytes` and the
/// pipeline's fixed buffers set. Time is guarded only against hangs (generous limits);
/// `NUDGE_INGEST_BINARY` points the suite at another build (e.g. release) to time it.
/// The tests are independent (each in its own folder, each bound measured on its own
/// process) and run in parallel.
@Suite struct HostileInputTests {
    struct Outcome {
        var run: MeasuredRun
        var summary: [String: Any]
        var dropped: [[String: Any]]
        var accepted: [[String: Any]]

        var reasons: [String: Int] { summary["reasons"] as? [String: Int] ?? [:] }
        var records: Int? { summary["records"] as? Int }
    }

    func run(_ input: URL, _ options: [String] = [], in dir: URL, label: String) throws -> Outcome {
        let spool = dir.appendingPathComponent("spool-\(label)")
        let run = try runMeasured(testedToolPath, ["run", "--spool", spool.path, "--json"] + options + [input.path])
        #expect(run.status == 0, "\(label): exit \(run.status): \(run.stderr.suffix(2000))")
        let summary = (try? parseJSON(run.stdout) as? [String: Any]) ?? [:]
        func records(_ folder: String) throws -> [[String: Any]] {
            // A run writes no file into a folder it has no record for.
            let file = spool.appendingPathComponent(folder).appendingPathComponent("00000001.ndjson.gz")
            guard FileManager.default.fileExists(atPath: file.path) else { return [] }
            return try InMemoryRun.records(spoolFileRecords(file))
        }
        let outcome = Outcome(run: run, summary: summary, dropped: try records("dropped"), accepted: try records("accepted"))
        print("hostile input \(label): \(String(format: "%.2f", run.seconds)) s, peak RSS \(run.peakKiB / 1024) MiB, "
              + "\(summary["uncompressed_bytes"] ?? "?") bytes inflated")
        #expect(run.seconds < 600, "\(label) took \(run.seconds) s: a hang guard, not a benchmark")
        if sanitizerInUse == nil {
            #expect(run.peakKiB / 1024 < memoryBoundMiB, "\(label): peak RSS \(run.peakKiB / 1024) MiB")
        }
        return outcome
    }

    /// `count` copies of one gzip member of `block`: how a bomb packs its ratio.
    func repeatedMember(_ block: [UInt8], count: Int, to url: URL, prefix: [UInt8] = []) throws {
        let member = try gzip(block, level: 9)
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        if !prefix.isEmpty { try handle.write(contentsOf: try gzip(prefix)) }
        for _ in 0..<count { try handle.write(contentsOf: member) }
        try handle.close()
    }

    /// A 10 MB gzip file (deflate's densest: about 1000 to 1) inflating to 10 GiB of
    /// NUL bytes: one line, far too long, dropped with a 4096-byte `raw`.
    @Test func gzipBombOfTenGibibytes() throws {
        try withTemporaryDirectory { dir in
            let bomb = dir.appendingPathComponent("bomb.gz")
            try repeatedMember([UInt8](repeating: 0, count: 64 << 20), count: 160, to: bomb)
            let size = try FileManager.default.attributesOfItem(atPath: bomb.path)[.size] as? Int ?? 0
            #expect(size < 11_000_000)
            let outcome = try run(bomb, in: dir, label: "gzip bomb (\(size / 1_000_000) MB → 10 GiB)")
            #expect(outcome.summary["uncompressed_bytes"] as? Int == 10 << 30)
            #expect(outcome.records == 1 && outcome.reasons["line_too_long"] == 1)
            let record = try #require(outcome.dropped.first)
            #expect(record["raw_truncated"] as? Bool == true)
            #expect((record["raw"] as? String)?.unicodeScalars.count == RecordLimits.rawBytes)
            #expect((record["detail"] as? String)?.contains("\(10 << 30) bytes") == true)
        }
    }

    /// One line of 2 GiB without a newline, across 33 gzip members.
    @Test func aTwoGibibyteLineWithoutNewline() throws {
        try withTemporaryDirectory { dir in
            let input = dir.appendingPathComponent("long-line.gz")
            let prefix = Array(#"{"type":"identify","userId":""#.utf8)
            try repeatedMember([UInt8](repeating: 0x61, count: 64 << 20), count: 32, to: input, prefix: prefix)
            let outcome = try run(input, in: dir, label: "2 GiB line")
            let length = prefix.count + (2 << 30)
            #expect(outcome.records == 1 && outcome.reasons["line_too_long"] == 1)
            let record = try #require(outcome.dropped.first)
            #expect((record["detail"] as? String)?.contains("\(length) bytes") == true)
            #expect((record["raw"] as? String)?.hasPrefix(String(decoding: prefix, as: UTF8.self) + "aaaa") == true)
            #expect((record["raw"] as? String)?.utf8.count == RecordLimits.rawBytes)
        }
    }

    /// 100,000 levels of arrays, of objects, and inside a track's `properties`: the
    /// scanner stops at level 1,001 without recursing. Level 1,000 itself is valid.
    @Test func oneHundredThousandDeepNesting() throws {
        try withTemporaryDirectory { dir in
            let deep = 100_000
            let lines = [
                String(repeating: "[", count: deep) + String(repeating: "]", count: deep),
                String(repeating: "{\"a\":", count: deep) + "1" + String(repeating: "}", count: deep),
                "{\"type\":\"track\",\"properties\":" + String(repeating: "[", count: deep) + String(repeating: "]", count: deep) + "}",
                String(repeating: "[", count: deep),
                String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000),
            ]
            let input = dir.appendingPathComponent("deep.ndjson")
            try Data(lines.joined(separator: "\n").utf8).write(to: input)
            let outcome = try run(input, in: dir, label: "100k-deep nesting")
            #expect(outcome.records == 5 && outcome.reasons["malformed_json"] == 4 && outcome.reasons["not_an_object"] == 1)
            for record in outcome.dropped where record["reason"] as? String == "malformed_json" {
                #expect((record["detail"] as? String)?.contains("nesting deeper than 1000 levels") == true)
            }
        }
    }

    /// Files of nothing but `\r`: one byte is a blank line (its `\r` removed); 1,000 are
    /// one record that is not JSON; 10 MiB are one record over the limit.
    @Test func filesOfOnlyCarriageReturns() throws {
        try withTemporaryDirectory { dir in
            for (count, reason) in [(1, nil), (1000, "malformed_json"), (10 << 20, "line_too_long")] as [(Int, String?)] {
                let input = dir.appendingPathComponent("cr-\(count)")
                try Data(repeating: 0x0D, count: count).write(to: input)
                let outcome = try run(input, in: dir, label: "\(count) × \\r")
                #expect(outcome.records == (reason == nil ? 0 : 1))
                if let reason {
                    #expect(outcome.reasons[reason] == 1)
                    // One trailing \r is removed; the rest is the line.
                    let raw = outcome.dropped.first?["raw"] as? String
                    #expect(raw?.utf8.count == min(count - 1, RecordLimits.rawBytes))
                }
            }
        }
    }

    /// Streams of NUL bytes, plain and compressed: one record that is not JSON, or too long.
    @Test func streamsOfNulBytes() throws {
        try withTemporaryDirectory { dir in
            let short = dir.appendingPathComponent("nul-short")
            try Data(repeating: 0, count: 1000).write(to: short)
            let small = try run(short, in: dir, label: "1000 NUL bytes")
            #expect(small.records == 1 && small.reasons["malformed_json"] == 1)
            #expect((small.dropped.first?["detail"] as? String)?.contains("byte 0x00") == true)
            #expect((small.dropped.first?["raw"] as? String) == String(repeating: "\0", count: 1000))

            let long = dir.appendingPathComponent("nul-long")
            try Data(repeating: 0, count: 200 << 20).write(to: long)
            let big = try run(long, in: dir, label: "200 MiB of NUL bytes")
            #expect(big.records == 1 && big.reasons["line_too_long"] == 1)

            let compressed = dir.appendingPathComponent("nul.gz")
            try repeatedMember([UInt8](repeating: 0, count: 999) + [0x0A], count: 10_000, to: compressed)
            let lines = try run(compressed, in: dir, label: "10,000 lines of 999 NUL bytes, gzip")
            #expect(lines.records == 10_000 && lines.reasons["malformed_json"] == 10_000)
        }
    }

    /// A line of a million escapes: over the default limit it is dropped whole; under a
    /// raised limit it is scanned, decoded, lowercased and written back.
    @Test func aLineOfOneMillionEscapedCharacters() throws {
        try withTemporaryDirectory { dir in
            let million = 1_000_000
            let line = "{\"type\":\"identify\",\"userId\":\"" + String(repeating: "\\u0041", count: million)
                + "\",\"traits\":{\"quote\":\"" + String(repeating: "\\\"", count: million) + "\"}}\n"
            let input = dir.appendingPathComponent("escapes.ndjson")
            try Data(line.utf8).write(to: input)

            let dropped = try run(input, in: dir, label: "1M escapes, default limit")
            #expect(dropped.records == 1 && dropped.reasons["line_too_long"] == 1)

            let accepted = try run(input, ["--max-line-bytes", "16777216"], in: dir, label: "1M escapes, 16 MiB limit")
            #expect(accepted.records == 1 && accepted.accepted.count == 1)
            let body = accepted.accepted.first?["body"] as? [String: Any]
            #expect(body?["ext_id"] as? String == String(repeating: "a", count: million))
            #expect((body?["props"] as? [String: Any])?["quote"] as? String == String(repeating: "\"", count: million))
        }
    }
}

/// The binary these tests run: `NUDGE_INGEST_BINARY` when set, else the one built with them.
var testedToolPath: String {
    ProcessInfo.processInfo.environment["NUDGE_INGEST_BINARY"] ?? toolPath
}
