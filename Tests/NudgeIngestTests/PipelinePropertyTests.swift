import Foundation
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// Properties of the whole pipeline on random exports: random mixes of good and broken
/// lines, compressed as random gzip members, read with random chunk, buffer and hand-off
/// sizes, worker counts and batch pools by the threaded `IngestRun`. Whatever the sizes and the threads' timing, the
/// spools are byte for byte those of a single-chunk pass, every line is exactly one
/// record, and every dropped record's `raw` gives back its line.
@Suite struct PipelinePropertyTests {
    static let maxLineBytes = 512

    /// A random export: its decompressed stream and the lines the contract frames from it.
    struct MixedExport {
        var stream: [UInt8] = []
        /// Record lines by physical line number, as the contract frames them.
        var records: [Int: [UInt8]] = [:]
    }

    static func mixedExport(_ random: inout RandomJSON) -> MixedExport {
        var export = MixedExport()
        if random.chance(20) { export.stream += [0xEF, 0xBB, 0xBF] }
        let count = Int.random(in: 1...250, using: &random.generator)
        for number in 1...count {
            var line: [UInt8]
            switch Int.random(in: 0..<100, using: &random.generator) {
            case 0..<20:
                let user = "U \(Int.random(in: 0..<6, using: &random.generator))"
                line = Array("{\"type\":\"identify\",\"userId\":\"\(user)\",\"anonymousId\":\"a\(user.count)\",\"messageId\":\"m\(Int.random(in: 0..<300, using: &random.generator))\",\"traits\":".utf8)
                random.object(depth: 1, into: &line)
                line.append(0x7D)
            case 20..<45:
                let who = random.chance(70) ? "\"userId\":\"u \(Int.random(in: 0..<8, using: &random.generator))\"" : "\"anonymousId\":\"a3\""
                line = Array("{\"type\":\"track\",\(who),\"event\":\"Ev \(Int.random(in: 0..<4, using: &random.generator))\",\"timestamp\":\"\(random.timestamp())\",\"properties\":".utf8)
                random.object(depth: 1, into: &line)
                line.append(0x7D)
            case 45..<65: line = random.event()
            case 65..<80: line = random.mutate(random.event())
            case 80..<85: line = Array("{\"type\":\"identify\",\"userId\":\"é\u{FEFF}".utf8) + [0xC3, 0x28, 0xFF, 0xED, 0xA0, 0x80] + Array("\"}".utf8)
            case 85..<88: line = Array(repeating: 0x20, count: Int.random(in: 513...3000, using: &random.generator)) + Array("{\"type\":\"identify\",\"userId\":\"long\"}".utf8)
            case 88..<90: line = Array("[\"not\", \"an object\"]".utf8)
            default: line = random.pick([[], [0x20], [0x09, 0x20], [0x0D], [0x0D, 0x0D], [0x20, 0x0D]])
            }
            line.removeAll { $0 == 0x0A }
            let last = number == count
            let terminator: [UInt8] = last && random.chance(30) ? [] : random.chance(30) ? [0x0D, 0x0A] : [0x0A]
            export.stream += line + terminator
            // The record, framed by the contract's rules: one trailing \r removed,
            // lines of only spaces and tabs skipped.
            var framed = line + (terminator.count == 2 ? [0x0D] : [])
            if framed.last == 0x0D { framed.removeLast() }
            if !framed.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { export.records[number] = framed }
        }
        return export
    }

    /// The export as gzip members cut at random points of the stream.
    static func gzipMembers(_ stream: [UInt8], _ random: inout RandomJSON) throws -> [UInt8] {
        var cuts = (0..<Int.random(in: 0...3, using: &random.generator)).map { _ in
            Int.random(in: 0...stream.count, using: &random.generator)
        }
        cuts = ([0] + cuts.sorted() + [stream.count])
        var file: [UInt8] = []
        for (start, end) in zip(cuts, cuts.dropFirst()) {
            file += try gzip(Array(stream[start..<end]), level: Int.random(in: 1...9, using: &random.generator))
        }
        return file
    }

    @Test func spoolsDoNotDependOnChunkSizesOrThreadTiming() throws {
        // Numbers Foundation can read: the spools are checked with it.
        var random = RandomJSON(seed: 7_007, hugeNumbers: false)
        var totals = (records: 0, accepted: 0, reasons: Set<String>())
        for trial in 0..<40 {
            let export = Self.mixedExport(&random)
            let compressed = random.chance(85)
            let file = compressed ? try Self.gzipMembers(export.stream, &random) : export.stream
            try withTemporaryDirectory { dir in
                let input = dir.appendingPathComponent(compressed ? "export.gz" : "export.ndjson")
                try Data(file).write(to: input)
                let reference = try InMemoryRun(bytes: export.stream, maxLineBytes: Self.maxLineBytes, path: input.path)

                // Every line is one record, and every dropped `raw` is its line.
                #expect(reference.counts.records == export.records.count, "trial \(trial)")
                for outcome in Outcome.all(accepted: reference.accepted, dropped: reference.dropped) {
                    guard let line = export.records[outcome.line] else {
                        Issue.record("trial \(trial): a record for line \(outcome.line), which is not one")
                        continue
                    }
                    guard let raw = outcome.record["raw"] as? String else { continue }
                    let expected = String(decoding: line, as: UTF8.self)
                    if outcome.record["raw_truncated"] as? Bool == true {
                        #expect(line.count > Self.maxLineBytes && withoutBOM(expected).starts(with: withoutBOM(raw)))
                    } else {
                        #expect(withoutBOM(raw).elementsEqual(withoutBOM(expected)), "trial \(trial) line \(outcome.line)")
                    }
                    totals.reasons.insert(outcome.code)
                }
                totals.records += reference.counts.records
                totals.accepted += reference.counts.accepted

                // The threaded run, twice, with random sizes everywhere: the same bytes.
                for pass in 0..<2 {
                    var options = RunOptions()
                    options.spool = dir.appendingPathComponent("spool\(pass)").path
                    options.maxLineBytes = Self.maxLineBytes
                    options.readChunkBytes = Int.random(in: 1...70_000, using: &random.generator)
                    options.inflateChunkBytes = Int.random(in: 1...70_000, using: &random.generator)
                    options.jobs = Int.random(in: 1...4, using: &random.generator)
                    options.batchCount = Int.random(in: 2...5, using: &random.generator)
                    options.batchBytes = Int.random(in: 1...5_000, using: &random.generator)
                    options.spoolFlushBytes = Int.random(in: 1...100_000, using: &random.generator)
                    let summary = try IngestRun(options: options).run([InputFile(path: input.path)])
                    #expect(summary.counts == reference.counts, "trial \(trial) pass \(pass)")
                    for (folder, expected) in [("accepted", reference.acceptedBytes), ("dropped", reference.droppedBytes)] {
                        // A commit with no record for a spool leaves no file there.
                        let file = URL(fileURLWithPath: options.spool).appendingPathComponent(folder)
                            .appendingPathComponent("00000001.ndjson")
                        let written = FileManager.default.fileExists(atPath: file.path)
                            ? [UInt8](try Data(contentsOf: file)) : []
                        if written != expected {
                            let at = zip(written, expected).prefix { $0 == $1 }.count
                            Issue.record("trial \(trial) pass \(pass): \(folder) differs from byte \(at) with \(options)")
                        }
                    }
                }
            }
        }
        // The mixes must reach acceptance and most reasons, or the property says little.
        #expect(totals.accepted > 300 && totals.records > 3000, "\(totals)")
        #expect(totals.reasons.count >= 10, "\(totals.reasons.sorted())")
    }

    /// Foundation (the tests' parser) drops a U+FEFF at the start of a string value or
    /// after an escape; Python and JavaScript keep it. It is left out of comparisons.
    func withoutBOM(_ text: String) -> [Unicode.Scalar] {
        text.unicodeScalars.filter { $0 != "\u{FEFF}" }
    }
}
