import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// A realistic export from the benchmark's generator, with a fixed seed: its outcome
/// counts and the exact bytes of both spools are pinned, so tuning the hot path cannot
/// change what `run` writes without this test saying so. (The pinned values were taken
/// from the build before the performance work and are unchanged by it. A deliberate
/// change of output must update them, and say why.)
@Suite struct GeneratedExportTests {
    /// 20,000 events over 3 files and 2 days, 10% of them bad (every drop reason), the
    /// first file written as two gzip members split inside a line.
    static let generatorArguments = [
        "--events", "20000", "--files", "3", "--days", "2", "--users", "800", "--seed", "7",
        "--dirty", "0.1", "--multi-member",
    ]

    @Test func aFixedSeedExportGivesPinnedOutcomesAndSpoolBytes() throws {
        try withTemporaryDirectory { dir in
            let manifest = dir.appendingPathComponent("manifest.tsv")
            let generated = try runProgram("/usr/bin/env", [
                "python3", repositoryRoot.appendingPathComponent("scripts/generate_export.py").path,
                "--out", dir.path, "--manifest", manifest.path,
            ] + Self.generatorArguments)
            try #require(generated.status == 0, "generate_export.py: \(generated.stderr)")

            // A relative input path keeps `source.file`, and so the spool bytes, the same
            // wherever the test runs.
            let run = try EndToEndTests.run(["segment-logs"], in: dir)
            #expect(run.result.status == 0, "\(run.result.stderr)")
            try expectManifestOutcomes(run, manifest: manifest)

            let counts = Dictionary(grouping: Outcome.all(accepted: run.accepted, dropped: run.dropped), by: \.code)
                .mapValues(\.count)
            #expect(counts == [
                "accepted:identify": 2907,
                "accepted:track": 8170,
                "dropped:anonymous_only": 1405,
                "dropped:duplicate_message_id": 182,
                "dropped:invalid_timestamp": 181,
                "dropped:invalid_user_id": 181,
                "dropped:line_too_long": 3,
                "dropped:malformed_json": 182,
                "dropped:missing_event": 181,
                "dropped:missing_type": 182,
                "dropped:missing_user_id": 182,
                "dropped:not_an_object": 182,
                "dropped:not_identified": 323,
                "dropped:unsupported_type": 5739,
            ])
            // One commit per input: the files, read in name order, hold the records in input order.
            #expect(try sha256(ofFilesIn: run.spool.appendingPathComponent("accepted"))
                == "7b1417321aed07eca52ede84ec115451a6459e986b4015415602149ea0162643")
            // Changed once on purpose (issue 15): details say "is a boolean" where they said
            // "is true"/"is false"; with those 96 details written the old way, the bytes
            // hash to the earlier pin, 57390ae7….
            #expect(try sha256(ofFilesIn: run.spool.appendingPathComponent("dropped"))
                == "113dd6fb8f6d8b1ed65c196c90bda55b3f51f4de438e2f1ec4d62868c5ea97e2")
        }
    }

    /// SHA-256 of the records of the folder's `*.ndjson.gz` files in name order, as
    /// `gzip -dc` gives them (the pins are of the records, compressed or not).
    private func sha256(ofFilesIn folder: URL) throws -> String {
        let result = try runProgram("/bin/sh", ["-c", "cat \"$0\"/*.ndjson.gz | gzip -dc | sha256sum", folder.path])
        return String(result.stdoutText.prefix(64))
    }
}
