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
            var actual: [String: String] = [:]
            for record in run.accepted + run.dropped {
                let source = record["source"] as! [String: Any]
                let file = (source["file"] as! String).components(separatedBy: "/samples/").last!
                let reason = record["reason"] as? String
                let key = reason == "corrupt_input" ? "\(file)\t-" : "\(file)\t\(source["line"] as! Int)"
                #expect(actual[key] == nil, "two records for \(key)")
                actual[key] = reason.map { $0 == "corrupt_input" ? $0 : "dropped:\($0)" } ?? "accepted:\(record["kind"]!)"
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
