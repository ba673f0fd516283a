import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// `nudge-ingest requeue` on a spool whose replay had one user's identifies rejected:
/// filters, a dry run, the crash-safe commit, the next replay sending exactly the
/// requeued records in order, and what `audit` counts.
@Suite(.serialized, .enabled(if: toolCanReplay, "replay needs the HTTP trait")) struct RequeueTests {
    static let rejectedUser = "jose.alvarez6@example.org"

    /// A sample spool replayed against a Nudge that rejects one user's identifies (400):
    /// 2 identifies and 11 tracks held back in rejected/.
    /// Returns the spool and the port that Nudge listened on: a later replay of the
    /// spool goes to the same endpoint (its progress belongs to it).
    static func rejectedSpool(in dir: URL) throws -> (spool: URL, port: Int) {
        let spool = try ReplayTests.sampleSpool(in: dir)
        let server = try ReplayTests.FakeNudge(in: dir, faults: #"{"reject_identify": ["\#(rejectedUser)"]}"#)
        let result = try ReplayTests.replay(spool, server)
        #expect(result.status == 0, "\(result.stderr)")
        #expect((try parseJSON(result.stdout) as? [String: Any])?["rejected"] as? Int == 13)
        return (spool, server.port)
    }

    /// The audit's replay counts (`--format json`), without the destination.
    static func replayCounts(_ audit: ProcessResult) -> [String: Int]? {
        ((try? parseJSON(audit.stdout)) as? [String: Any])?["replay"].flatMap { $0 as? [String: Any] }?
            .compactMapValues { $0 as? Int }
    }

    static func requeue(_ spool: URL, _ extra: [String] = [], environment: [String: String]? = nil) throws -> ProcessResult {
        try runProgram(toolPath, ["requeue", "--spool", spool.path, "--json"] + extra, environment: environment)
    }

    static func files(_ spool: URL) -> [String: Data] {
        var state: [String: Data] = [:]
        for folder in ["replay", "rejected"] {
            let url = spool.appendingPathComponent(folder)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] where name != "lock" {
                state[folder + "/" + name] = try? Data(contentsOf: url.appendingPathComponent(name))
            }
        }
        return state
    }

    /// A status filter matches the two identifies; they bring the 11 tracks they held
    /// back. A dry run counts and changes nothing; the real one empties rejected/, and
    /// the next replay sends exactly those 13, identifies first, in spool order.
    @Test func requeuedRecordsAreSentAgainByTheNextReplay() throws {
        try withTemporaryDirectory { dir in
            let (spool, nudgePort) = try Self.rejectedSpool(in: dir)
            let before = Self.files(spool)

            let none = try Self.requeue(spool, ["--status", "422"])
            #expect(none.status == 0, "\(none.stderr)")
            #expect((try parseJSON(none.stdout) as? [String: Any])?["requeued"] as? Int == 0)

            let dry = try Self.requeue(spool, ["--status", "400", "--dry-run"])
            #expect(dry.status == 0)
            let drySummary = try #require(try parseJSON(dry.stdout) as? [String: Any])
            #expect(drySummary["requeued"] as? Int == 13 && drySummary["remaining_rejected"] as? Int == 0)
            #expect(dry.stderr.contains("would put back 13 rejected records"))
            #expect(Self.files(spool) == before, "a dry run changed the spool")
            try ReplayTests.expectValid(dry.stdout, schema: "requeue-summary")

            let done = try Self.requeue(spool, ["--status", "400"])
            #expect(done.status == 0, "\(done.stderr)")
            #expect(done.stderr.contains("The next `nudge-ingest replay --spool \(spool.path)` sends 13 records again"))
            #expect(try Data(contentsOf: spool.appendingPathComponent("rejected/rejected.ndjson.gz")).isEmpty)
            let checkpointData = try Data(contentsOf: spool.appendingPathComponent("replay/checkpoint.json"))
            try ReplayTests.expectValid(checkpointData, schema: "replay-checkpoint")
            let checkpoint = try #require(try parseJSON(checkpointData) as? [String: Any])
            #expect((checkpoint["requeued"] as? [Int])?.count == 13 && (checkpoint["rejected_users"] as? [String]) == [])

            let audit = try runProgram(toolPath, ["audit", "--spool", spool.path, "--format", "json"])
            let replayCounts = Self.replayCounts(audit)
            #expect(replayCounts == ["acknowledged": 191, "rejected": 0, "requeued": 13, "requeued_pending": 13])

            let server = try ReplayTests.FakeNudge(in: dir, port: nudgePort)
            let replay = try ReplayTests.replay(spool, server, ["--batch-size", "4"])
            #expect(replay.status == 0)
            let resent = try #require(try parseJSON(replay.stdout) as? [String: Any])
            #expect(resent["acknowledged"] as? Int == 13)
            // One set of counts: a record requeued and acknowledged is no longer rejected,
            // so acknowledged + rejected never exceed the accepted records.
            #expect(resent["total_acknowledged"] as? Int == 204 && resent["total_rejected"] as? Int == 0)
            #expect(replay.stderr.contains("to this destination so far: 204 acknowledged, 0 rejected"), "\(replay.stderr)")
            let acknowledged = ReplayTests.acknowledgedBodies(try server.requests())
            let expected = try ReplayTests.accepted(spool).filter { $0.extID == Self.rejectedUser }
            #expect(acknowledged.map { "\($0.kind) \($0.body)" } == expected.map { "\($0.kind) \($0.body)" })
            #expect(acknowledged.first?.kind == "identify")

            let after = try runProgram(toolPath, ["audit", "--spool", spool.path, "--format", "json"])
            #expect(Self.replayCounts(after)
                    == ["acknowledged": 204, "rejected": 0, "requeued": 13, "requeued_pending": 0])
            let table = try runProgram(toolPath, ["audit", "--spool", spool.path])
            #expect(table.stdoutText.contains("Replay to \(server.endpoint): 204 acknowledged by Nudge, 0 rejected, 13 requeued"))
        }
    }

    /// Rejected records are written as the spool's gzip members, one a write, which
    /// `gzip -dc` reads as the lines. A spool whose replays began before that keeps its
    /// plain `rejected.ndjson`: `audit`, `requeue` and a later `replay` read it, and
    /// the replay appends to it, plain, with no compressed file beside it.
    @Test func rejectedRecordsAreCompressedAndAnOldPlainFileStaysPlain() throws {
        try withTemporaryDirectory { dir in
            let (spool, nudgePort) = try Self.rejectedSpool(in: dir)
            let compressed = spool.appendingPathComponent("rejected/rejected.ndjson.gz")
            let members = [UInt8](try Data(contentsOf: compressed))
            let lines = try gunzip(members)
            #expect(lines.count { $0 == 0x0A } == 13)
            var (offset, memberCount) = (0, 0)
            while offset < members.count {
                let header = try #require(members.withUnsafeBytes {
                    SpoolMember.header(UnsafeRawBufferPointer(rebasing: $0[offset...]))
                }, "no member at byte \(offset)")
                (offset, memberCount) = (offset + header.memberBytes, memberCount + 1)
            }
            #expect(offset == members.count && memberCount > 1, "\(memberCount) members")

            // The checkpoint counts the records' bytes, in either form.
            let checkpoint = try String(contentsOf: spool.appendingPathComponent("replay/checkpoint.json"), encoding: .utf8)
            #expect(checkpoint.contains("\"rejected_bytes\":\(lines.count),"), "\(checkpoint)")
            // As a replay before compressed rejected records left it: the plain file.
            try Data(lines).write(to: spool.appendingPathComponent("rejected/rejected.ndjson"))
            try FileManager.default.removeItem(at: compressed)

            let audit = try runProgram(toolPath, ["audit", "--spool", spool.path, "--format", "json"])
            #expect(Self.replayCounts(audit)?["rejected"] == 13, "\(audit.stdoutText)")
            let dry = try Self.requeue(spool, ["--user", Self.rejectedUser, "--dry-run"])
            #expect((try parseJSON(dry.stdout) as? [String: Any])?["requeued"] as? Int == 13, "\(dry.stderr)")
            let done = try Self.requeue(spool, ["--user", Self.rejectedUser])
            #expect(done.status == 0, "\(done.stderr)")
            #expect(try Data(contentsOf: spool.appendingPathComponent("rejected/rejected.ndjson")).isEmpty)

            // Nudge rejects the user again: the 13 come back, appended plain.
            let server = try ReplayTests.FakeNudge(in: dir, faults: #"{"reject_identify": ["\#(Self.rejectedUser)"]}"#,
                                                   port: nudgePort)
            let replay = try ReplayTests.replay(spool, server)
            #expect(replay.status == 0, "\(replay.stderr)")
            let plain = [UInt8](try Data(contentsOf: spool.appendingPathComponent("rejected/rejected.ndjson")))
            #expect(plain.count { $0 == 0x0A } == 13 && plain.first == UInt8(ascii: "{"))
            #expect(!FileManager.default.fileExists(atPath: compressed.path))
            let again = try runProgram(toolPath, ["audit", "--spool", spool.path, "--format", "json"])
            #expect(Self.replayCounts(again)?["rejected"] == 13)
        }
    }

    /// Killed before its commit point, a requeue changed nothing; killed after it, the
    /// next command that opens the replay state finishes it.
    @Test func aKilledRequeueIsAllOrNothing() throws {
        try withTemporaryDirectory { dir in
            let (spool, nudgePort) = try Self.rejectedSpool(in: dir)
            let before = Self.files(spool)
            var environment = ProcessInfo.processInfo.environment
            environment["NUDGE_INGEST_CRASH_AT"] = "requeue-written@13"
            let early = try Self.requeue(spool, [], environment: environment)
            #expect(early.status != 0)
            // The hidden rewrite is there, but nothing names it: the state is as before.
            let audit = try runProgram(toolPath, ["audit", "--spool", spool.path, "--format", "json"])
            #expect(Self.replayCounts(audit)
                    == ["acknowledged": 191, "rejected": 13, "requeued": 0, "requeued_pending": 0])
            #expect(Self.files(spool).filter { !$0.key.contains(".requeue-") } == before)

            environment["NUDGE_INGEST_CRASH_AT"] = "requeue-committed@13"
            let late = try Self.requeue(spool, [], environment: environment)
            #expect(late.status != 0)
            let committed = try runProgram(toolPath, ["audit", "--spool", spool.path, "--format", "json"])
            #expect(Self.replayCounts(committed)
                    == ["acknowledged": 191, "rejected": 0, "requeued": 13, "requeued_pending": 13])

            // The next replay finishes the rename and sends the 13.
            let server = try ReplayTests.FakeNudge(in: dir, port: nudgePort)
            let replay = try ReplayTests.replay(spool, server)
            #expect(replay.status == 0)
            #expect((try parseJSON(replay.stdout) as? [String: Any])?["acknowledged"] as? Int == 13)
            #expect(try Data(contentsOf: spool.appendingPathComponent("rejected/rejected.ndjson.gz")).isEmpty)
            let hidden = try FileManager.default.contentsOfDirectory(atPath: spool.appendingPathComponent("rejected").path)
            #expect(hidden == ["rejected.ndjson.gz"])
        }
    }

    /// Filters by user and reason; a track's filter brings its identify; a spool that
    /// does not exist and a bad reason are refused.
    @Test func filtersAndErrors() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.rejectedSpool(in: dir).spool
            let other = try Self.requeue(spool, ["--user", "someone-else", "--dry-run"])
            #expect((try parseJSON(other.stdout) as? [String: Any])?["requeued"] as? Int == 0)
            let tracks = try Self.requeue(spool, ["--reason", "identify_rejected", "--dry-run"])
            let summary = try #require(try parseJSON(tracks.stdout) as? [String: Any])
            #expect(summary["requeued"] as? Int == 13 && summary["identifies_added"] as? Int == 2)

            let missing = try Self.requeue(dir.appendingPathComponent("nowhere"))
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("no spool at \(dir.appendingPathComponent("nowhere").path): run `nudge-ingest run --spool"))
            let bad = try Self.requeue(spool, ["--reason", "timeout"])
            #expect(bad.status == 1 && bad.stderr.contains("--reason must be rejected_by_nudge or identify_rejected"))
        }
    }
}
