import Foundation
import NudgeTestSupport
import Testing

/// A replay knows where it sends: its progress belongs to one destination (endpoint and
/// key) and one spool, so that a plausible mistake — another endpoint, another key, a
/// spool started over, nothing listening — is refused with exit 1 and what to do, never
/// read as "done" (issue 27). Against real fake-Nudge servers on loopback.
@Suite(.serialized, .enabled(if: toolCanReplay, "replay needs the HTTP trait")) struct ReplayDestinationTests {
    typealias FakeNudge = ReplayTests.FakeNudge

    static func replay(_ spool: URL, to endpoint: String, key: String = ReplayTests.apiKey, _ extra: [String] = [])
        throws -> ProcessResult {
        let environment = ProcessInfo.processInfo.environment.merging(["NUDGE_API_KEY": key]) { $1 }
        return try runProgram(toolPath, ["replay", "--spool", spool.path, "--endpoint", endpoint, "--json"] + extra,
                              environment: environment)
    }

    static func summary(_ result: ProcessResult) throws -> [String: Any] {
        try #require(try parseJSON(result.stdout) as? [String: Any], "\(result.stderr)")
    }

    /// The accepted bodies a server acknowledged, as `kind body` texts, each once per key.
    static func delivered(_ server: FakeNudge) throws -> [String] {
        ReplayTests.acknowledgedBodies(try server.requests()).map { "\($0.kind) \($0.body)" }
    }

    static func accepted(_ spool: URL) throws -> [String] {
        try ReplayTests.accepted(spool).map { "\($0.kind) \($0.body)" }
    }

    static func checkpoint(_ spool: URL) throws -> [String: Any] {
        try #require(try parseJSON(Data(contentsOf: spool.appendingPathComponent("replay/checkpoint.json"))) as? [String: Any])
    }

    /// Staging, then production: refused (exit 1, nothing sent, both named, the flag
    /// to use); with `--switch-destination` production gets every record once; going
    /// back to staging resumes staging's own progress, which had everything.
    @Test func stagingThenProductionIsRefusedThenDeliveredInFull() throws {
        try withTemporaryDirectory { dir in
            let spool = try ReplayTests.sampleSpool(in: dir)
            let accepted = try Self.accepted(spool)
            let staging = try FakeNudge(in: dir)
            let production = try FakeNudge(in: dir)

            let first = try Self.replay(spool, to: staging.endpoint)
            #expect(first.status == 0, "\(first.stderr)")
            let toStaging = try Self.delivered(staging)
            #expect(Set(toStaging) == Set(accepted) && toStaging.count == accepted.count)
            let bound = try Self.checkpoint(spool)
            let destination = try #require(bound["destination"] as? [String: Any])
            #expect(destination["endpoint"] as? String == staging.endpoint)
            let fingerprint = try #require(destination["key_fingerprint"] as? String)
            #expect(fingerprint.hasPrefix("sha256:") && fingerprint.count == 7 + 32)
            let checkpointText = try String(contentsOf: spool.appendingPathComponent("replay/checkpoint.json"), encoding: .utf8)
            #expect(!checkpointText.contains(ReplayTests.apiKey))
            try ReplayTests.expectValid(Data(checkpointText.utf8), schema: "replay-checkpoint")

            // The mistake: the same command with production's endpoint.
            let refused = try Self.replay(spool, to: production.endpoint)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains(staging.endpoint) && refused.stderr.contains(production.endpoint), "\(refused.stderr)")
            #expect(refused.stderr.contains("--switch-destination") && refused.stderr.contains("Nothing was sent"))
            #expect(refused.stdout.isEmpty)
            #expect(try production.requests().isEmpty)

            let switched = try Self.replay(spool, to: production.endpoint, ["--switch-destination"])
            #expect(switched.status == 0, "\(switched.stderr)")
            #expect(try Self.summary(switched)["acknowledged"] as? Int == accepted.count)
            let toProduction = try Self.delivered(production)
            #expect(toProduction.count == accepted.count && Set(toProduction) == Set(accepted))
            // Staging's progress is kept apart, production's is current.
            #expect((try Self.checkpoint(spool)["destination"] as? [String: Any])?["endpoint"] as? String == production.endpoint)
            let kept = try FileManager.default.contentsOfDirectory(atPath: spool.appendingPathComponent("replay/destinations").path)
            #expect(kept.count == 1)

            // Production again: nothing left to send.
            let again = try Self.replay(spool, to: production.endpoint)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(try Self.summary(again)["requests"] as? Int == 0)

            // Back to staging: refused without the flag, then staging's own progress resumes.
            let staged = try staging.requests().count
            #expect(try Self.replay(spool, to: staging.endpoint).status == 1)
            let back = try Self.replay(spool, to: staging.endpoint, ["--switch-destination"])
            #expect(back.status == 0, "\(back.stderr)")
            let backSummary = try Self.summary(back)
            #expect(backSummary["requests"] as? Int == 0 && backSummary["total_acknowledged"] as? Int == accepted.count)
            #expect(try staging.requests().count == staged)
        }
    }

    /// Another key on the same endpoint is another destination (another account); the
    /// message never shows either key.
    @Test func anotherKeyIsAnotherDestination() throws {
        try withTemporaryDirectory { dir in
            let spool = try ReplayTests.sampleSpool(in: dir)
            let server = try FakeNudge(in: dir)
            #expect(try Self.replay(spool, to: server.endpoint).status == 0)
            let count = try server.requests().count
            let otherKey = "prod-key-0c4d2e"
            let refused = try Self.replay(spool, to: server.endpoint, key: otherKey)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("--switch-destination"), "\(refused.stderr)")
            #expect(!refused.stderr.contains(otherKey) && !refused.stderr.contains(ReplayTests.apiKey))
            #expect(try server.requests().count == count)
            // The same endpoint written with a trailing slash is the same one.
            let same = try Self.replay(spool, to: server.endpoint + "/")
            #expect(same.status == 0, "\(same.stderr)")
        }
    }

    /// README's old "start over" (remove accepted, dropped and state, keep replay/):
    /// the stale checkpoint is refused as another spool's, never read as "done"; after
    /// removing the replay progress as the message says, the new records are delivered.
    @Test func aSpoolStartedOverIsNotReadAsDone() throws {
        try withTemporaryDirectory { dir in
            let sample = try ReplayTests.sampleSpool(in: dir)
            let server = try FakeNudge(in: dir)
            #expect(try Self.replay(sample, to: server.endpoint).status == 0)
            for folder in ["accepted", "dropped", "state"] {
                try FileManager.default.removeItem(at: sample.appendingPathComponent(folder))
            }
            // The export and the spool in one folder, run as `run .` would: the spool,
            // its ledger gone but its replay progress left, is still never read.
            let root = dir.appendingPathComponent("work")
            try FileManager.default.createDirectory(at: root.appendingPathComponent("export"), withIntermediateDirectories: true)
            let spool = root.appendingPathComponent("spool")
            try FileManager.default.moveItem(at: sample, to: spool)
            let input = root.appendingPathComponent("export/new.ndjson")
            try Data("""
                {"type":"identify","userId":"new-user-1","messageId":"n-1","traits":{"email":"n1@example.com"},"timestamp":"2026-01-01T00:00:00Z"}
                {"type":"track","userId":"new-user-1","event":"Signed Up","messageId":"n-2","timestamp":"2026-01-01T00:00:01Z"}

                """.utf8).write(to: input)
            let walked = try runProgram(toolPath, ["run", "--spool", spool.path, "--json", root.path])
            #expect(walked.status == 0, "\(walked.stderr)")
            #expect((try parseJSON(walked.stdout) as? [String: Any])?["records"] as? Int == 2, "\(walked.stderr)")
            #expect(walked.stderr.contains("skipped 1 spool"), "\(walked.stderr)")
            let before = try server.requests().count

            let refused = try Self.replay(spool, to: server.endpoint)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("started over") && refused.stderr.contains("rm -rf"), "\(refused.stderr)")
            #expect(try server.requests().count == before)

            for folder in ["replay", "rejected"] {
                try FileManager.default.removeItem(at: spool.appendingPathComponent(folder))
            }
            let delivered = try Self.replay(spool, to: server.endpoint)
            #expect(delivered.status == 0, "\(delivered.stderr)")
            #expect(try Self.summary(delivered)["acknowledged"] as? Int == 2)
        }
    }

    /// A checkpoint that vouches for more records than the spool holds (another,
    /// larger spool's) is refused; one from before destinations were recorded is
    /// refused until the operator says where it went (`--adopt-checkpoint`) or starts a
    /// delivery of its own (`--switch-destination`).
    @Test func checkpointsThatDoNotFitAreRefused() throws {
        try withTemporaryDirectory { dir in
            let spool = try ReplayTests.sampleSpool(in: dir)
            let server = try FakeNudge(in: dir)
            let path = spool.appendingPathComponent("replay/checkpoint.json")
            try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
            func writeVersion2(watermark: Int) throws {
                try Data("""
                    {"version":2,"watermark":\(watermark),"done":[],"requeued":[],"rejected_users":[],"rejected_bytes":0,\
                    "rejected_rewrite":null,"acknowledged":\(watermark),"rejected":0,"requeued_total":0}
                    """.utf8).write(to: path)
            }
            try writeVersion2(watermark: 92_446)
            let past = try Self.replay(spool, to: server.endpoint, ["--adopt-checkpoint"])
            #expect(past.status == 1)
            #expect(past.stderr.contains("92,446") && past.stderr.contains("204"), "\(past.stderr)")
            #expect(try server.requests().isEmpty)

            try writeVersion2(watermark: 100)
            let unbound = try Self.replay(spool, to: server.endpoint)
            #expect(unbound.status == 1)
            #expect(unbound.stderr.contains("--adopt-checkpoint") && unbound.stderr.contains("--switch-destination"),
                    "\(unbound.stderr)")
            #expect(try server.requests().isEmpty)
            let adopted = try Self.replay(spool, to: server.endpoint, ["--adopt-checkpoint"])
            #expect(adopted.status == 0, "\(adopted.stderr)")
            #expect(try Self.summary(adopted)["acknowledged"] as? Int == 104)
            #expect((try Self.checkpoint(spool)["destination"] as? [String: Any])?["endpoint"] as? String == server.endpoint)
        }
    }

    /// Nothing listening: the replay stops at once with exit 1 and the endpoint named,
    /// not minutes of retries.
    @Test func anEndpointThatCannotBeReachedStopsAtOnce() throws {
        try withTemporaryDirectory { dir in
            let spool = try ReplayTests.sampleSpool(in: dir)
            let endpoint = "http://127.0.0.1:\(try closedPort())"
            let result = try Self.replay(spool, to: endpoint)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("could not reach \(endpoint)/") && result.stderr.contains("--endpoint"),
                    "\(result.stderr)")
            #expect(!result.stderr.contains("65,536") && !result.stderr.contains("sent in"))
            let summary = try Self.summary(result)
            #expect(summary["acknowledged"] as? Int == 0 && summary["remaining"] as? Int == 204)
            // Stopped at the first refusal: no retry, no wait for --timeout.
            #expect(summary["retries"] as? Int == 0, "\(summary)")
            try ReplayTests.expectValid(result.stdout, schema: "replay-summary")
            // Nothing was consumed, and nothing bound: the corrected command delivers everything.
            let server = try FakeNudge(in: dir)
            let delivered = try Self.replay(spool, to: server.endpoint)
            #expect(try Self.summary(delivered)["acknowledged"] as? Int == 204, "\(delivered.stderr)")
        }
    }

    /// On an 80-column terminal the progress line never wraps: what does not fit is
    /// left out, the counts and the ETA stay, and the last problem shows.
    @Test func theProgressLineFitsAnEightyColumnTerminal() throws {
        try withTemporaryDirectory { dir in
            let spool = try ReplayTests.sampleSpool(in: dir)
            let server = try FakeNudge(in: dir, faults: #"{"latency": 0.05, "status": {"3": [503, null], "4": [503, null]}}"#)
            let (status, output) = try FirstHourTests.onTerminal(
                ["replay", "--spool", spool.path, "--endpoint", server.endpoint, "--api-key", ReplayTests.apiKey,
                 "--batch-size", "5", "--concurrency", "2", "--fixed-concurrency"], in: dir, columns: 80)
            #expect(status == 0, "\(output)")
            let frames = FirstHourTests.redraws(output) { $0.contains(" records (") && $0.contains("ETA") }
            #expect(frames.count >= 3, "\(output)")
            for frame in frames {
                #expect(frame.count <= 79, "\(frame)")
            }
            #expect(frames.contains { $0.contains("last: HTTP 503") }, "\(frames)")
        }
    }

    /// A switch killed between its renames: the next replay finds every destination's
    /// progress whole, and delivers as if it had not been killed.
    @Test func aSwitchKilledMidwayLosesNoProgress() throws {
        try withTemporaryDirectory { dir in
            let spool = try ReplayTests.sampleSpool(in: dir)
            let rejectedUser = "jose.alvarez6@example.org"
            let staging = try FakeNudge(in: dir, faults: "{\"reject_identify\": [\"\(rejectedUser)\"]}")
            let production = try FakeNudge(in: dir)
            #expect(try Self.replay(spool, to: staging.endpoint).status == 0)
            let stagingRejected = try Data(contentsOf: spool.appendingPathComponent("rejected/rejected.ndjson.gz"))
            #expect(!stagingRejected.isEmpty)

            for point in ["destination-kept@0", "destination-restoring@0"] {
                let environment = ProcessInfo.processInfo.environment.merging(
                    ["NUDGE_API_KEY": ReplayTests.apiKey, "NUDGE_INGEST_CRASH_AT": point]) { $1 }
                let target = point.hasPrefix("destination-kept") ? production : staging
                let killed = try runProgram(toolPath, ["replay", "--spool", spool.path, "--endpoint", target.endpoint,
                                                       "--switch-destination"], environment: environment)
                #expect(killed.status != 0 && killed.status != 1, "\(point): \(killed.stderr)")
                // The same command again finishes the switch and the delivery.
                let again = try Self.replay(spool, to: target.endpoint, ["--switch-destination"])
                #expect(again.status == 0, "\(point): \(again.stderr)")
                if target === production {
                    #expect(try Self.delivered(production).count == 204)
                    #expect(try Data(contentsOf: spool.appendingPathComponent("rejected/rejected.ndjson.gz")).isEmpty)
                } else {
                    // Staging's own progress and rejected spool came back whole: nothing sent again.
                    #expect(try Self.summary(again)["requests"] as? Int == 0)
                    #expect(try Data(contentsOf: spool.appendingPathComponent("rejected/rejected.ndjson.gz")) == stagingRejected)
                }
            }
        }
    }
}

/// A loopback port with nothing listening: bound, then closed.
func closedPort() throws -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(socket >= 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
        }
    }
    precondition(bound)
    return Int(UInt16(bigEndian: address.sin_port))
}
