import Foundation
import NudgeTestSupport
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
    @Test func spoolsDoNotDependOnChunkSizesOrThreadTiming() throws {
        // Numbers Foundation can read: the spools are checked with it.
        var random = RandomJSON(seed: 7_007, hugeNumbers: false)
        var totals = (records: 0, accepted: 0, reasons: Set<String>())
        for trial in 0..<40 {
            let export = MixedExport.random(&random)
            let compressed = random.chance(85)
            let file = compressed ? try MixedExport.gzipMembers(export.stream, &random) : export.stream
            try withTemporaryDirectory { dir in
                let input = dir.appendingPathComponent(compressed ? "export.gz" : "export.ndjson")
                try Data(file).write(to: input)
                let reference = try InMemoryRun(bytes: export.stream, maxLineBytes: MixedExport.maxLineBytes, path: input.path)

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
                        #expect(line.count > MixedExport.maxLineBytes && withoutBOM(expected).starts(with: withoutBOM(raw)))
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
                    options.maxLineBytes = MixedExport.maxLineBytes
                    options.readChunkBytes = Int.random(in: 1...70_000, using: &random.generator)
                    options.inflateChunkBytes = Int.random(in: 1...70_000, using: &random.generator)
                    options.jobs = Int.random(in: 1...4, using: &random.generator)
                    options.batchCount = Int.random(in: 2...5, using: &random.generator)
                    options.batchBytes = Int.random(in: 1...5_000, using: &random.generator)
                    options.spoolFlushBytes = Int.random(in: 1...100_000, using: &random.generator)
                    // Compressed in members of any size, or plain as before compression.
                    options.compressSpool = random.chance(75)
                    options.spoolMemberBytes = Int.random(in: 1...60_000, using: &random.generator)
                    let summary = try IngestRun(options: options).run([InputFile(path: input.path)])
                    #expect(summary.counts == reference.counts, "trial \(trial) pass \(pass)")
                    for (folder, expected) in [("accepted", reference.acceptedBytes), ("dropped", reference.droppedBytes)] {
                        // A commit with no record for a spool leaves no file there.
                        let file = URL(fileURLWithPath: options.spool).appendingPathComponent(folder)
                            .appendingPathComponent(options.compressSpool ? "00000001.ndjson.gz" : "00000001.ndjson")
                        let written = FileManager.default.fileExists(atPath: file.path) ? try spoolFileRecords(file) : []
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
