import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// The bundled sample export (README's first command) against the outcomes its
/// generator wrote down for every physical line, and against the reference.
@Suite struct SampleExportTests {
    @Test func everyLineOfTheSampleHasItsExpectedOutcome() throws {
        try withTemporaryDirectory { dir in
            let samples = repositoryRoot.appendingPathComponent("samples")
            let run = try EndToEndTests.run([samples.appendingPathComponent("segment-logs").path], in: dir)
            #expect(run.result.status == 2, "the sample has one truncated file")
            let reasonsSeen = try expectManifestOutcomes(
                run, manifest: samples.appendingPathComponent("expected-outcomes.tsv"), relativeTo: "/samples/")
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
