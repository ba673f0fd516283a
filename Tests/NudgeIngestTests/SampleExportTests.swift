import Foundation
import Testing
@testable import NudgeIngest

/// The bundled sample export (README's first command) against the outcomes its
/// generator wrote down for every physical line, and against the reference.
@Suite struct SampleExportTests {
    @Test func everyLineOfTheSampleHasItsExpectedOutcome() throws {
        try withTemporaryDirectory { dir in
            let samples = repositoryRoot.appendingPathComponent("samples")
            let run = try EndToEndTests.run([samples.appendingPathComponent("segment-logs").path], in: dir)
            #expect(run.result.status == 2, "the sample has one truncated file")
            // The manifest names files relative to samples/, and a fault's line as "-".
            var actual: [String: String] = [:]
            for outcome in Outcome.all(accepted: run.accepted, dropped: run.dropped) {
                let file = outcome.file.components(separatedBy: "/samples/").last!
                let isFault = outcome.code == "dropped:corrupt_input"
                let key = "\(file)\t\(isFault ? "-" : String(outcome.line))"
                #expect(actual[key] == nil, "two records for \(key)")
                actual[key] = isFault ? "corrupt_input" : outcome.code
            }
            let manifest = try String(contentsOf: samples.appendingPathComponent("expected-outcomes.tsv"), encoding: .utf8)
            var checked = 0
            var reasonsSeen = Set<String>()
            for row in manifest.split(separator: "\n") {
                let fields = row.split(separator: "\t").map(String.init)
                let key = "\(fields[0])\t\(fields[1])"
                if fields[2] == "skip" {
                    #expect(actual[key] == nil, "\(key) is blank and must not be a record")
                    continue
                }
                #expect(actual[key] == fields[2], "\(key)")
                reasonsSeen.insert(fields[2])
                checked += 1
            }
            #expect(checked == actual.count)
            // The sample shows every reason code of the contract.
            for reason in ReasonCode.allCases {
                let code = reason == .corruptInput ? "corrupt_input" : "dropped:\(reason.rawValue)"
                #expect(reasonsSeen.contains(code), "\(code) missing from the sample")
            }
            EndToEndTests.checkConservation(run)
            try EndToEndTests.validate(run)
            try EndToEndTests.compareWithReference(run, [samples.appendingPathComponent("segment-logs").path], in: dir)
        }
    }
}
