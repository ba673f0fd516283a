import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// `nudge-ingest replay` against a real HTTP server on loopback (`scripts/fake_nudge.py`,
/// which behaves like Nudge and injects faults), on a spool made from the bundled sample.
@Suite(.serialized) struct ReplayTests {
    static let apiKey = FakeNudge.apiKey

    /// A running fake Nudge and the log of what it received.
    typealias FakeNudge = NudgeTestSupport.FakeNudge

    /// A spool made by `run` from the bundled sample export (204 accepted records).
    static func sampleSpool(in dir: URL) throws -> URL {
        let spool = dir.appendingPathComponent("spool")
        let run = try runProgram(toolPath, ["run", "--spool", spool.path,
                                            repositoryRoot.appendingPathComponent("samples/segment-logs").path])
        #expect(run.status == 2, "the sample ends with a truncated file: \(run.stderr)")
        return spool
    }

    static func replay(_ spool: URL, _ server: FakeNudge, _ extra: [String] = []) throws -> ProcessResult {
        let environment = ProcessInfo.processInfo.environment.merging(["NUDGE_API_KEY": apiKey]) { $1 }
        return try runProgram(toolPath, ["replay", "--spool", spool.path, "--endpoint", server.endpoint, "--json"] + extra,
                              environment: environment)
    }

    /// A JSON value as text with sorted keys, to compare bodies.
    static func canonical(_ value: Any) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])) ?? Data(),
               as: UTF8.self)
    }

    /// The accepted records of a spool, in spool order: (ext_id, kind, body as canonical JSON).
    static func accepted(_ spool: URL) throws -> [(extID: String, kind: String, body: String)] {
        try EndToEndTests.spoolRecords(spool.appendingPathComponent("accepted")).map { record in
            let body = record["body"] as! [String: Any]
            return (body["ext_id"] as! String, record["kind"] as! String, canonical(body))
        }
    }

    /// The bodies a server acknowledged (answered 2xx), in the order it answered, each
    /// request once per `Idempotency-Key`: an attempt that timed out at the client may
    /// still have been answered by the server, and its retry then arrives with the same
    /// key, which is how a receiver drops the repeat.
    static func acknowledgedBodies(_ requests: [[String: Any]]) -> [(extID: String, kind: String, body: String, answered: Double, arrived: Double)] {
        var seenKeys: Set<String> = []
        return requests.filter { ($0["status"] as? Int).map { (200..<300).contains($0) } ?? false }
            .sorted { ($0["answered"] as! Double) < ($1["answered"] as! Double) }
            .filter { seenKeys.insert((($0["headers"] as? [String: String]) ?? [:])["idempotency-key"] ?? UUID().uuidString).inserted }
            .flatMap { request -> [(String, String, String, Double, Double)] in
                let kind = request["method"] as! String == "PUT" ? "identify" : "track"
                let bodies = kind == "identify" ? [request["body"] as! [String: Any]] : request["body"] as! [[String: Any]]
                return bodies.map { ($0["ext_id"] as! String, kind, canonical($0),
                                     request["answered"] as! Double, request["arrived"] as! Double) }
            }
    }

    /// With 429 + Retry-After, 500s, a dropped connection, a slow answer and one user's
    /// identifies rejected: every other accepted record is acknowledged exactly once,
    /// in spool order per user, identify before track on the wire; the rejected user's
    /// records are in the rejected spool; batches and headers are right; the key never
    /// shows.
    @Test(.enabled(if: toolCanReplay, "replay needs the HTTP trait")) func everyRecordIsAcknowledgedOnceInOrderThroughFaults() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.sampleSpool(in: dir)
            let rejectedUser = "jose.alvarez6@example.org"
            let server = try FakeNudge(in: dir, faults: """
                {"status": {"3": [429, "1"], "5": [500, null], "6": [503, null]}, "drop": [12], "slow": {"20": 1, "30": 4},
                 "reject_identify": ["\(rejectedUser)"]}
                """)
            let result = try Self.replay(spool, server, ["--concurrency", "4", "--batch-size", "7", "--timeout", "3"])
            #expect(result.status == 0, "\(result.stderr)")
            let summary = try #require(try parseJSON(result.stdout) as? [String: Any])
            let requests = try server.requests()

            let accepted = try Self.accepted(spool)
            #expect(accepted.count == 204)
            let expected = accepted.filter { $0.extID != rejectedUser }
            let acknowledged = Self.acknowledgedBodies(requests)
            // Exactly once: the multiset of acknowledged bodies is the accepted spool's, minus the rejected user.
            #expect(acknowledged.count == expected.count)
            #expect(Set(acknowledged.map { "\($0.kind) \($0.body)" }) == Set(expected.map { "\($0.kind) \($0.body)" }))
            #expect(summary["acknowledged"] as? Int == expected.count)
            #expect(summary["rejected"] as? Int == 13)
            #expect((summary["retries"] as? Int ?? 0) >= 5, "429, 500, 503, a dropped connection, a timeout: \(summary)")
            // The answer that came after the timeout and the retry carry the same key.
            // (The server logs it when it answers, after the client gave up: wait for that.)
            var all = requests
            try waitUntil("the timed-out request's late answer logged") {
                all = try server.requests()
                return all.contains { $0["n"] as? Int == 30 }
            }
            let timedOut = try #require(all.first { $0["n"] as? Int == 30 })
            let key = (timedOut["headers"] as! [String: String])["idempotency-key"]
            #expect(all.filter { ($0["headers"] as! [String: String])["idempotency-key"] == key }.count >= 2)

            // Per user, acknowledged in spool order; a track only after its user's identify was answered.
            var identifyAnswered: [String: Double] = [:]
            let spoolOrder = Dictionary(grouping: expected.enumerated(), by: { $0.element.extID })
            for (user, records) in spoolOrder {
                let wire = acknowledged.filter { $0.extID == user }.map { "\($0.kind) \($0.body)" }
                #expect(wire == records.map { "\($0.element.kind) \($0.element.body)" }, "\(user) out of order")
            }
            for record in requests.sorted(by: { ($0["arrived"] as! Double) < ($1["arrived"] as! Double) }) {
                if record["method"] as? String == "PUT", record["status"] as? Int == 200 {
                    let user = (record["body"] as! [String: Any])["ext_id"] as! String
                    identifyAnswered[user] = min(identifyAnswered[user] ?? .infinity, record["answered"] as! Double)
                }
            }
            for track in acknowledged where track.kind == "track" {
                #expect((identifyAnswered[track.extID] ?? .infinity) <= track.arrived, "track of \(track.extID) before its identify")
            }

            // Batches, headers, and Retry-After.
            for request in requests {
                let headers = request["headers"] as! [String: String]
                #expect(headers["apikey"] == Self.apiKey && headers["p"] == "17" && headers["content-type"] == "application/json")
                #expect(headers["idempotency-key"]?.count == 32 && headers["idempotent-key"] == headers["idempotency-key"])
                #expect(headers["user-agent"] == "nudge-ingest/\(NudgeIngestVersion.current)")
                if request["method"] as? String == "POST", let batch = request["body"] as? [Any] {
                    #expect(batch.count <= 7 && !batch.isEmpty)
                }
            }
            let third = try #require(requests.first { $0["n"] as? Int == 3 })
            let retried = requests.filter {
                ($0["headers"] as! [String: String])["idempotency-key"] == (third["headers"] as! [String: String])["idempotency-key"]
                    && ($0["n"] as! Int) > 3
            }
            let retryArrived = try #require(retried.first?["arrived"] as? Double)
            #expect(retryArrived - (third["answered"] as! Double) >= 0.95, "Retry-After: 1 was not honoured")

            // The rejected spool: the user's identifies with their status, its tracks after them.
            let rejected = try InMemoryRun.records(Array(try #require(rejectedSpoolRecords(spool))))
            #expect(rejected.count == 13)
            #expect(rejected.allSatisfy { ($0["body"] as? [String: Any])?["ext_id"] as? String == rejectedUser })
            let identifies = rejected.filter { $0["kind"] as? String == "identify" }
            #expect(identifies.count == 2 && identifies.allSatisfy { $0["status"] as? Int == 400 && $0["reason"] as? String == "rejected_by_nudge" })
            #expect(identifies.first?["response"] as? String == #"{"error":"identify rejected for test"}"#)
            #expect(rejected.filter { $0["reason"] as? String == "identify_rejected" }.count == 11)

            // The key appears nowhere a person or a file could show it.
            #expect(!result.stderr.contains(Self.apiKey) && !result.stdoutText.contains(Self.apiKey))
            let grep = try runProgram("/usr/bin/env", ["grep", "-r", "-l", Self.apiKey, spool.path])
            #expect(grep.status == 1, "the key is in \(grep.stdoutText)")

            // Everything a user reads matches its schema.
            try Self.expectValid(result.stdout, schema: "replay-summary")
            try Self.expectValid(Data(contentsOf: spool.appendingPathComponent("replay/checkpoint.json")), schema: "replay-checkpoint")
            for line in try #require(rejectedSpoolRecords(spool)).split(separator: 0x0A) {
                try Self.expectValid(Data(line), schema: "rejected-record")
            }

            // Again: nothing left to send.
            let again = try Self.replay(spool, server)
            #expect(again.status == 0)
            #expect((try parseJSON(again.stdout) as? [String: Any])?["requests"] as? Int == 0)
        }
    }

    /// Killed (SIGKILL) while a slow server answers, each time once the server has
    /// answered a few more of its requests (so every kill lands mid-replay): the resumed
    /// replays lose nothing, and what is acknowledged twice is at most what group
    /// commit had not saved: the requests in flight and those answered in the last
    /// 200 ms before each kill.
    @Test(.enabled(if: toolCanReplay, "replay needs the HTTP trait")) func aKilledReplayResumesWithoutLoss() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.sampleSpool(in: dir)
            let server = try FakeNudge(in: dir, faults: #"{"latency": 0.1}"#)
            let environment = ProcessInfo.processInfo.environment.merging(["NUDGE_API_KEY": Self.apiKey]) { $1 }
            var kills = 0
            for answered in [3, 8, 5, 10] {
                let before = try server.requests().count
                let process = Process()
                process.executableURL = URL(fileURLWithPath: toolPath)
                process.arguments = ["replay", "--spool", spool.path, "--endpoint", server.endpoint,
                                     "--concurrency", "3", "--batch-size", "5"]
                process.environment = environment
                process.standardError = FileHandle.nullDevice
                try process.run()
                try waitUntil("\(answered) more requests answered") {
                    try server.requests().count >= before + answered || !process.isRunning
                }
                if process.isRunning && kill(process.processIdentifier, SIGKILL) == 0 { kills += 1 }
                process.waitUntilExit()
            }
            let finished = try Self.replay(spool, server, ["--concurrency", "3", "--batch-size", "5"])
            #expect(finished.status == 0, "\(finished.stderr)")
            #expect(kills == 4, "a replay ended before its kill")

            let expected = try Self.accepted(spool)
            let acknowledged = Self.acknowledgedBodies(try server.requests())
            let counts = Dictionary(acknowledged.map { ("\($0.kind) \($0.body)", 1) }, uniquingKeysWith: +)
            #expect(Set(counts.keys) == Set(expected.map { "\($0.kind) \($0.body)" }), "records lost")
            let repeats = counts.values.reduce(0) { $0 + $1 - 1 }
            // Per kill: 3 requests of at most 5 records in flight, and the answers of the
            // last 200 ms (at 100 ms each, 3 slots: 6), with one of slack for scheduling.
            #expect(repeats <= kills * (3 + 6 + 1) * 5, "\(repeats) repeats over \(kills) kills")
            let checkpoint = try parseJSON(Data(contentsOf: spool.appendingPathComponent("replay/checkpoint.json"))) as? [String: Any]
            #expect(checkpoint?["watermark"] as? Int == 204)
        }
    }

    /// When retries are spent the replay stops with exit 2 and skips nothing; the next
    /// replay delivers everything. Records a later run adds go with the next replay.
    @Test(.enabled(if: toolCanReplay, "replay needs the HTTP trait")) func spentRetriesStopWithoutSkippingAndLaterRunsAreDelivered() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.sampleSpool(in: dir)
            let down = try FakeNudge(in: dir, faults: #"{"always": 503}"#)
            let stopped = try Self.replay(spool, down, ["--max-attempts", "2"])
            #expect(stopped.status == 2, "\(stopped.stderr)")
            #expect(stopped.stderr.contains("STOPPED: gave up after 2 attempts (HTTP 503)"))
            #expect(stopped.stderr.contains("run replay again to continue"))

            down.stop()
            let up = try FakeNudge(in: dir, port: down.port)
            let delivered = try Self.replay(spool, up)
            #expect(delivered.status == 0)
            #expect((try parseJSON(delivered.stdout) as? [String: Any])?["acknowledged"] as? Int == 204)

            let later = dir.appendingPathComponent("later.ndjson")
            try Data((#"{"type":"identify","userId":"late-user"}"# + "\n"
                      + #"{"type":"track","userId":"late-user","event":"Late","timestamp":"2025-04-01T00:00:00Z"}"# + "\n").utf8)
                .write(to: later)
            #expect(try runProgram(toolPath, ["run", "--spool", spool.path, later.path]).status == 0)
            let next = try Self.replay(spool, up)
            let summary = try parseJSON(next.stdout) as? [String: Any]
            #expect(summary?["acknowledged"] as? Int == 2 && summary?["total_acknowledged"] as? Int == 206)
        }
    }

    /// `--max-rps` spaces request starts; on a terminal a progress line is redrawn and
    /// cleared; a second replay on the same spool is refused while the first runs.
    @Test(.enabled(if: toolCanReplay, "replay needs the HTTP trait")) func rateCapProgressLineAndLock() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.sampleSpool(in: dir)
            let server = try FakeNudge(in: dir)
            let command = "NUDGE_API_KEY=\(Self.apiKey) \(toolPath) replay --spool \(spool.path) --endpoint \(server.endpoint) --max-rps 40 --batch-size 5"
            let terminal = Process()
            terminal.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            terminal.arguments = ["script", "-qec", command, dir.appendingPathComponent("typescript").path]
            terminal.standardOutput = FileHandle.nullDevice
            try terminal.run()

            // While it runs, the spool's replay lock is taken.
            let lock = spool.appendingPathComponent("replay/lock")
            try waitUntil("the replay lock taken") { (try? String(contentsOf: lock, encoding: .utf8))?.contains("process") == true }
            let second = try Self.replay(spool, server)
            #expect(second.status == 1)
            #expect(second.stderr.contains("is in use by another nudge-ingest replay (process"))
            terminal.waitUntilExit()
            #expect(terminal.terminationStatus == 0)

            let starts = try server.requests().map { $0["arrived"] as! Double }.sorted()
            #expect(starts.count >= 100)
            // No more than 40 starts in any second at the client; at the server, arrivals
            // can bunch by a few when the client is slowed (a sanitizer build).
            for (index, start) in starts.enumerated() {
                let within = starts[index...].prefix { $0 < start + 1 }.count
                #expect(within <= 48, "\(within) requests began within one second")
            }
            #expect(starts.last! - starts.first! >= Double(starts.count - 1) / 40 * 0.95)
            let screen = try String(contentsOf: dir.appendingPathComponent("typescript"), encoding: .utf8)
            #expect(screen.contains("\r\u{1B}[2K") && screen.contains(" of 204 records (") && screen.contains("%) · 0 rejected · "))
            #expect(screen.contains(" in flight · ") && screen.contains("ETA "))
            #expect(screen.contains("204 attempted in"))
        }
    }

    @Test(.enabled(if: toolCanReplay, "replay needs the HTTP trait")) func dryRunPrintsRequestsAndSendsNothing() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.sampleSpool(in: dir)
            let server = try FakeNudge(in: dir)
            // A summary by default: no bodies on the terminal.
            let quiet = try Self.replay(spool, server, ["--dry-run"])
            #expect(quiet.status == 0, "\(quiet.stderr)")
            #expect(!quiet.stdoutText.contains("PUT ") && !quiet.stdoutText.contains("ext_id"))
            #expect(quiet.stderr.contains("would send 204 records") && quiet.stderr.contains("--verbose"))
            // With --verbose, every request.
            let result = try Self.replay(spool, server, ["--dry-run", "--verbose", "--api-key", Self.apiKey])
            #expect(result.status == 0)
            #expect(try server.requests().isEmpty)
            #expect(result.stdoutText.contains("PUT \(server.endpoint)/identify\napikey: [redacted]\np: 17\n"))
            #expect(result.stdoutText.contains("POST \(server.endpoint)/events/batch"))
            #expect(!result.stdoutText.contains(Self.apiKey) && !result.stderr.contains(Self.apiKey))
            #expect(!FileManager.default.fileExists(atPath: spool.appendingPathComponent("replay/checkpoint.json").path))
        }
    }

    /// Checks one JSON document against `schemas/NAME.schema.json` with Python's jsonschema.
    static func expectValid(_ document: Data, schema: String) throws {
        let check = try runProgram("/usr/bin/env", ["python3", "-c", """
            import glob, json, os, sys, jsonschema, referencing
            # Every schema of the project, so that one may refer to another by its file name.
            registry = referencing.Registry().with_resources(
                (json.load(open(path))["$id"], referencing.Resource.from_contents(json.load(open(path))))
                for path in glob.glob(os.path.join(os.path.dirname(sys.argv[1]), "*.schema.json")))
            schema = json.load(open(sys.argv[1]))
            validator = jsonschema.Draft202012Validator(schema, registry=registry)
            errors = [e.message for e in validator.iter_errors(json.load(sys.stdin))]
            print("; ".join(errors)); sys.exit(1 if errors else 0)
            """, repositoryRoot.appendingPathComponent("schemas/\(schema).schema.json").path], stdin: document)
        #expect(check.status == 0, "\(schema): \(check.stdoutText) \(check.stderr)")
    }

    /// The spool reader gives every accepted record, in order, with its exact body bytes,
    /// whatever its chunk size; skipping to a sequence lands on that record.
    @Test func theSpoolReaderReadsEveryRecordInOrderInAnyChunkSize() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.sampleSpool(in: dir)
            let ledger = try Ledger.committed(inSpool: spool.path)
            func readAll(chunk: Int) throws -> [AcceptedRecord] {
                var reader = AcceptedSpoolReader(spool: spool.path, ledger: ledger)
                reader.chunkBytes = chunk
                var records: [AcceptedRecord] = []
                while let record = try reader.next() { records.append(record) }
                return records
            }
            let whole = try readAll(chunk: 1 << 20)
            let lines = try EndToEndTests.spoolRecords(spool.appendingPathComponent("accepted"))
            #expect(whole.count == 204 && whole.map(\.record.sequence) == Array(0..<204))
            for (record, line) in zip(whole, lines) {
                #expect(try parseJSON(record.body) as? NSDictionary == line["body"] as? NSDictionary)
                #expect(record.messageID == line["message_id"] as? String)
                #expect(record.record.kind == (line["kind"] as? String == "identify" ? .identify : .track))
            }
            for chunk in [1, 7, 4096] {
                #expect(try readAll(chunk: chunk).map(\.body) == whole.map(\.body), "chunk \(chunk)")
            }
            var reader = AcceptedSpoolReader(spool: spool.path, ledger: ledger)
            try reader.skip(to: 150)
            let landed = try reader.next()
            #expect(landed?.record.sequence == 150 && landed?.body == whole[150].body)
        }
    }
}
