import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// `nudge-ingest replay` when things go wrong, against the fake Nudge on loopback: the
/// operator's mistakes (a wrong key, a wrong endpoint, a key revoked half-way) stop it
/// without consuming anything; 413s split batches; connections cut mid-request, 5xx
/// and 429 storms cost no timeouts and lose or double nothing; Ctrl-C saves and stops.
@Suite(.serialized, .enabled(if: toolCanReplay, "replay needs the HTTP trait")) struct ReplayFailureTests {
    typealias FakeNudge = ReplayTests.FakeNudge

    static func environment(key: String = ReplayTests.apiKey) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(["NUDGE_API_KEY": key]) { $1 }
    }

    static func replay(_ spool: URL, endpoint: String, key: String = ReplayTests.apiKey, _ extra: [String] = []) throws -> ProcessResult {
        try runProgram(toolPath, ["replay", "--spool", spool.path, "--endpoint", endpoint, "--json"] + extra,
                       environment: environment(key: key))
    }

    static func json(_ result: ProcessResult) throws -> [String: Any] {
        try #require(try parseJSON(result.stdout) as? [String: Any])
    }

    /// The files a replay keeps, to compare before and after.
    static func replayState(_ spool: URL) -> [String: Data] {
        var state: [String: Data] = [:]
        for name in ["replay/checkpoint.json", "rejected/rejected.ndjson.gz"] {
            state[name] = try? Data(contentsOf: spool.appendingPathComponent(name))
        }
        return state
    }

    /// Acknowledged bodies over several servers' logs, each request once per key, as
    /// "kind body" strings, counted.
    static func acknowledgedCounts(_ servers: [FakeNudge]) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for server in servers {
            for body in ReplayTests.acknowledgedBodies(try server.requests()) { counts["\(body.kind) \(body.body)", default: 0] += 1 }
        }
        return counts
    }

    static func expectEveryRecordOnce(_ spool: URL, _ counts: [String: Int], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = Dictionary(try ReplayTests.accepted(spool).map { ("\($0.kind) \($0.body)", 1) }, uniquingKeysWith: +)
        #expect(counts == expected, "lost or doubled: \(counts.filter { expected[$0.key] != $0.value }.prefix(3))",
                sourceLocation: sourceLocation)
    }

    /// A wrong key: exit 1 at once with the fix named, the checkpoint and rejected/
    /// unchanged; the right key then delivers everything once.
    @Test func aWrongKeyConsumesNothing() throws {
        try withTemporaryDirectory { dir in
            let spool = try ReplayTests.sampleSpool(in: dir)
            let server = try FakeNudge(in: dir)
            let before = Self.replayState(spool)
            let refused = try Self.replay(spool, endpoint: server.endpoint, key: "wrong-key-123")
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("the API key was refused (401): check NUDGE_API_KEY / --api-key"))
            #expect(!refused.stderr.contains("wrong-key-123") && !refused.stdoutText.contains("wrong-key-123"))
            #expect(Self.replayState(spool)["replay/checkpoint.json"] == before["replay/checkpoint.json"])
            #expect((Self.replayState(spool)["rejected/rejected.ndjson.gz"] ?? Data()).isEmpty)
            #expect(try server.requests().count <= 4, "it kept sending after the first 401")
            try ReplayTests.expectValid(refused.stdout, schema: "replay-summary")

            let good = try FakeNudge(in: dir)
            let delivered = try Self.replay(spool, endpoint: good.endpoint)
            #expect(delivered.status == 0, "\(delivered.stderr)")
            #expect(try Self.json(delivered)["acknowledged"] as? Int == 204)
            try Self.expectEveryRecordOnce(spool, try Self.acknowledgedCounts([good]))
        }
    }

    /// A mistyped --endpoint (404 on every route): exit 1 naming --endpoint, nothing
    /// consumed. A 405 on the batch route alone stops it once the identifies went
    /// through, with the identifies acknowledged so far kept.
    @Test func aWrongEndpointConsumesNothing() throws {
        try withTemporaryDirectory { dir in
            let spool = try ReplayTests.sampleSpool(in: dir)
            let server = try FakeNudge(in: dir)
            let wrong = try Self.replay(spool, endpoint: server.endpoint + "/api/v2")
            #expect(wrong.status == 1)
            #expect(wrong.stderr.contains("PUT \(server.endpoint)/api/v2/identify answered 404: no such route; check --endpoint"))
            #expect((Self.replayState(spool)["rejected/rejected.ndjson.gz"] ?? Data()).isEmpty)
            #expect(Self.replayState(spool)["replay/checkpoint.json"] == nil)

            let noBatches = try FakeNudge(in: dir, faults: #"{"status_for_path": {"/events/batch": 405}}"#)
            let stopped = try Self.replay(spool, endpoint: noBatches.endpoint, ["--batch-size", "7"])
            #expect(stopped.status == 1)
            #expect(stopped.stderr.contains("POST \(noBatches.endpoint)/events/batch answered 405"))
            let summary = try Self.json(stopped)
            #expect((summary["acknowledged"] as? Int ?? 0) > 0 && summary["rejected"] as? Int == 0)

            // The same Nudge, now with its batch route working: the replay's progress
            // belongs to its endpoint.
            noBatches.stop()
            let good = try FakeNudge(in: dir, port: noBatches.port)
            let delivered = try Self.replay(spool, endpoint: good.endpoint)
            #expect(delivered.status == 0)
            try Self.expectEveryRecordOnce(spool, try Self.acknowledgedCounts([noBatches, good]))
        }
    }

    /// The key revoked after 40 requests: the replay stops with exit 1; what was
    /// acknowledged before is saved, nothing after the first 401 is consumed, and a
    /// replay with a valid key sends exactly the rest.
    @Test func aKeyRevokedHalfWayStopsAndTheRestIsSentLater() throws {
        try withTemporaryDirectory { dir in
            let spool = try ReplayTests.sampleSpool(in: dir)
            let server = try FakeNudge(in: dir, faults: #"{"revoke_after": 40}"#)
            let stopped = try Self.replay(spool, endpoint: server.endpoint, ["--batch-size", "7", "--concurrency", "4"])
            #expect(stopped.status == 1)
            #expect(stopped.stderr.contains("the API key was refused (401)"))
            let acknowledgedBefore = try Self.acknowledgedCounts([server]).values.reduce(0, +)
            let checkpoint = try #require(try parseJSON(Data(contentsOf: spool.appendingPathComponent("replay/checkpoint.json")))
                                              as? [String: Any])
            #expect(checkpoint["acknowledged"] as? Int == acknowledgedBefore && checkpoint["rejected"] as? Int == 0)
            #expect(acknowledgedBefore > 0 && acknowledgedBefore < 204)

            server.stop()
            let fresh = try FakeNudge(in: dir, port: server.port)
            let rest = try Self.replay(spool, endpoint: fresh.endpoint)
            #expect(rest.status == 0)
            #expect(try Self.json(rest)["acknowledged"] as? Int == 204 - acknowledgedBefore)
            try Self.expectEveryRecordOnce(spool, try Self.acknowledgedCounts([server, fresh]))
        }
    }

    /// A server that takes at most 5 tracks a batch answers 413 to larger ones: the
    /// batches are halved until they fit; nothing is rejected or lost.
    @Test func payloadTooLargeSplitsTheBatch() throws {
        try withTemporaryDirectory { dir in
            let spool = try ReplayTests.sampleSpool(in: dir)
            let server = try FakeNudge(in: dir, faults: #"{"max_batch": 5}"#)
            let result = try Self.replay(spool, endpoint: server.endpoint, ["--batch-size", "40"])
            #expect(result.status == 0, "\(result.stderr)")
            let summary = try Self.json(result)
            #expect(summary["rejected"] as? Int == 0 && (summary["splits"] as? Int ?? 0) >= 1)
            let requests = try server.requests()
            #expect(requests.contains { $0["status"] as? Int == 413 })
            for request in requests where request["status"] as? Int == 200 && request["method"] as? String == "POST" {
                #expect((request["body"] as? [Any])?.count ?? 99 <= 5)
            }
            try Self.expectEveryRecordOnce(spool, try Self.acknowledgedCounts([server]))
        }
    }

    /// Every 7th connection cut mid-request, 500s, 429s and a storm of 429s with
    /// Retry-After: 1. A cut is seen at once (no wait for --timeout), the storm pauses
    /// every request, and every record is acknowledged once per idempotency key, in
    /// per-user spool order.
    @Test func cutConnectionsAndStormsCostNoTimeoutsAndLoseNothing() throws {
        try withTemporaryDirectory { dir in
            let spool = try ReplayTests.sampleSpool(in: dir)
            let server = try FakeNudge(in: dir, faults: """
                {"cut_every": 7, "status_every": {"5": [500, null], "11": [429, null]},
                 "storm": {"from": 30, "to": 33, "retry_after": "1"}}
                """)
            // A --timeout far beyond any pause the faults cause, so that "the retry came
            // before the timeout could have passed" holds with a wide margin, also on a
            // loaded machine under a sanitizer (where 10 s once proved too tight).
            let result = try Self.replay(spool, endpoint: server.endpoint, ["--batch-size", "7", "--timeout", "60"])
            #expect(result.status == 0, "\(result.stderr)")
            let summary = try Self.json(result)
            let requests = try server.requests()
            #expect(requests.contains { $0["cut"] as? Bool == true })
            #expect((summary["retries"] as? Int ?? 0) >= 10)
            // A cut is seen at once: its retry (same key) arrives long before the 60 s
            // --timeout could have passed, backoff and Retry-After pauses included.
            let cuts = requests.filter { $0["cut"] as? Bool == true }
            for cut in cuts {
                let key = (cut["headers"] as? [String: String])?["idempotency-key"]
                let arrived = cut["arrived"] as! Double
                let retry = requests.first {
                    ($0["n"] as! Int) > (cut["n"] as! Int) && ($0["headers"] as? [String: String])?["idempotency-key"] == key
                }
                #expect(retry.map { ($0["arrived"] as! Double) - arrived < 30 } == true, "request \(cut["n"]!) waited for a timeout")
            }
            try Self.expectEveryRecordOnce(spool, try Self.acknowledgedCounts([server]))

            // After the first 429 of the storm was answered, no request started for a second
            // (those already sent may still arrive).
            let stormStart = try #require(requests.first { ($0["n"] as? Int) == 30 }?["answered"] as? Double)
            let during = requests.filter {
                let arrived = $0["arrived"] as! Double
                return arrived > stormStart + 0.05 && arrived < stormStart + 0.95
            }
            #expect(during.isEmpty, "\(during.count) requests started during Retry-After")

            let acknowledged = ReplayTests.acknowledgedBodies(requests)
            let accepted = try ReplayTests.accepted(spool)
            for (user, records) in Dictionary(grouping: accepted, by: \.extID) {
                let wire = acknowledged.filter { $0.extID == user }.map { "\($0.kind) \($0.body)" }
                #expect(wire == records.map { "\($0.kind) \($0.body)" }, "\(user) out of order")
            }
        }
    }

    /// Reads `handle` until a line holding `text` has come; returns all read so far.
    static func read(_ handle: FileHandle, untilLineHolding text: String) -> String {
        var read = Data()
        while !String(decoding: read, as: UTF8.self).split(separator: "\n").contains(where: { $0.contains(text) }) {
            let more = handle.availableData
            if more.isEmpty { break }  // the process ended
            read += more
        }
        return String(decoding: read, as: UTF8.self)
    }

    /// Ctrl-C: no request starts after it, those in flight are answered and saved, the
    /// summary is printed, exit 130; the next replay sends exactly the rest. A second
    /// Ctrl-C ends the process at once, and the checkpoint still holds. Told by events
    /// (the server's log, the process's own lines, its open connections), not by time.
    @Test func ctrlCFinishesWhatIsInFlightSavesAndExits130() throws {
        try withTemporaryDirectory { dir in
            let spool = try ReplayTests.sampleSpool(in: dir)
            let slow = try FakeNudge(in: dir, faults: #"{"latency": 0.3}"#)
            let concurrency = 4
            func start(_ server: FakeNudge) throws -> (Process, FileHandle) {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: toolPath)
                process.arguments = ["replay", "--spool", spool.path, "--endpoint", server.endpoint, "--batch-size", "7", "--json",
                                     "--concurrency", "\(concurrency)", "--fixed-concurrency"]
                process.environment = Self.environment()
                let errors = Pipe()
                process.standardError = errors
                process.standardOutput = FileHandle.nullDevice
                try process.run()
                return (process, errors.fileHandleForReading)
            }
            let (first, errors) = try start(slow)
            try waitUntil("8 requests answered") { try slow.requests().count >= 8 }
            kill(first.processIdentifier, SIGINT)
            // The server logs a request before it answers it: once the process says it was
            // interrupted, every request it started before is logged or in flight, and at
            // most `concurrency` are in flight. Any logged after that beyond them started
            // after Ctrl-C.
            var stderr = Self.read(errors, untilLineHolding: "interrupted: finishing the requests in flight")
            let loggedWhenInterrupted = try slow.requests().count
            first.waitUntilExit()
            stderr += String(decoding: errors.readDataToEndOfFile(), as: UTF8.self)
            #expect(first.terminationStatus == 130, "\(stderr)")
            #expect(stderr.contains("interrupted: finishing the requests in flight"))
            #expect(stderr.contains("INTERRUPTED: what was answered is saved"))
            let requests = try slow.requests()
            #expect(requests.count - loggedWhenInterrupted <= concurrency,
                    "\(requests.count - loggedWhenInterrupted) requests answered after Ctrl-C, at most \(concurrency) were in flight")
            let checkpoint = try #require(try parseJSON(Data(contentsOf: spool.appendingPathComponent("replay/checkpoint.json")))
                                              as? [String: Any])
            #expect(checkpoint["acknowledged"] as? Int == (try Self.acknowledgedCounts([slow]).values.reduce(0, +)))

            // Twice: gone at once. The server holds every request far longer than the test
            // runs, so whatever is in flight stays so; a connection open to it is a request
            // in flight (nothing has been answered to free one).
            slow.stop()
            let before = Self.replayState(spool)
            let holding = try FakeNudge(in: dir, faults: #"{"latency": 600}"#, port: slow.port)
            let (second, secondErrors) = try start(holding)
            try waitUntil("a request on the wire (\(TCPConnection.described(port: holding.port)))") { !TCPConnection.clients(ofPort: holding.port).isEmpty }
            kill(second.processIdentifier, SIGINT)
            var secondStderr = Self.read(secondErrors, untilLineHolding: "interrupted: finishing the requests in flight")
            kill(second.processIdentifier, SIGINT)
            second.waitUntilExit()
            secondStderr += String(decoding: secondErrors.readDataToEndOfFile(), as: UTF8.self)
            #expect(second.terminationStatus == 130, "\(secondStderr)")
            #expect(secondStderr.contains("stopped at once; the last checkpoint holds"), "\(secondStderr)")
            #expect(!secondStderr.contains("INTERRUPTED: what was answered is saved"), "it waited for its requests")
            #expect(try holding.requests().isEmpty)
            #expect(Self.replayState(spool) == before, "the checkpoint changed")

            holding.stop()
            let fast = try FakeNudge(in: dir, port: slow.port)
            let rest = try Self.replay(spool, endpoint: fast.endpoint)
            #expect(rest.status == 0)
            #expect(try !fast.requests().isEmpty)
            // What was in flight when the process stopped was never answered: not delivered
            // as far as the spool knows, so sent again; the rest arrives once.
            try Self.expectEveryRecordOnce(spool, try Self.acknowledgedCounts([slow, fast]))
        }
    }

    /// `--dry-run` says what it would send, with no rates or acknowledgements.
    @Test func aDryRunSaysWhatItWouldSend() throws {
        try withTemporaryDirectory { dir in
            let spool = try ReplayTests.sampleSpool(in: dir)
            let server = try FakeNudge(in: dir)
            let result = try Self.replay(spool, endpoint: server.endpoint, ["--dry-run", "--batch-size", "7"])
            #expect(result.status == 0)
            // The requests, then the summary on the last line.
            let last = Data(result.stdout.split(separator: 0x0A).last ?? [])
            let summary = try #require(try parseJSON(last) as? [String: Any])
            let requests = try #require(summary["requests"] as? Int)
            #expect(result.stderr.contains("would send 204 records in \(requests) requests"))
            #expect(!result.stderr.contains("records/s") && !result.stderr.contains("acknowledged"))
            #expect(summary["requests_per_second"] is NSNull && summary["records_per_second"] is NSNull)
            #expect(try server.requests().isEmpty)
            try ReplayTests.expectValid(last, schema: "replay-summary")
        }
    }
}
