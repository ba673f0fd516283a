import Foundation
import Synchronization
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// `Replay`, the shell that carries out the ``ReplayMachine``'s actions, in process:
/// many sends in flight as tasks, answers coming back in any order through its event
/// stream, the checkpoint saved as it goes. The transport is an in-memory Nudge that
/// fails at random, so this runs without HTTP and under ThreadSanitizer in CI (whose
/// builds leave the HTTP transport out); `ReplayTests` does the same over loopback HTTP.
@Suite struct ReplayShellTests {
    /// A Nudge that answers 500, 429 or a dropped connection for some attempts and
    /// acknowledges the rest, remembering which idempotency keys it acknowledged.
    actor FlakyNudge: ReplayTransport {
        var random: SeededGenerator
        var acknowledgedRecords: [String: Int] = [:]
        var doubled: [String] = []
        var attempts = 0
        var inFlight = 0
        var peakInFlight = 0

        init(seed: UInt64) { random = SeededGenerator(seed: seed) }

        func send(_ request: OutgoingRequest) async -> HTTPAnswer {
            attempts += 1
            inFlight += 1
            peakInFlight = max(peakInFlight, inFlight)
            // Let other sends in, so answers come back out of order.
            await Task.yield()
            inFlight -= 1
            let draw = Int.random(in: 0..<100, using: &random)
            switch draw {
            case 0..<10: return HTTPAnswer(status: 500)
            case 10..<15: return HTTPAnswer(status: 429, retryAfter: "0")
            case 15..<20: return HTTPAnswer(status: nil, failure: "connection reset by peer")
            default:
                let key = request.headers.first { $0.name == "Idempotency-Key" }?.value ?? ""
                if acknowledgedRecords[key] != nil { doubled.append(key) }
                acknowledgedRecords[key] = request.records
                return HTTPAnswer(status: 200)
            }
        }
    }

    /// A spool made by `run` from `exports` random exports in `dir`.
    static func spool(in dir: URL, seed: UInt64, exports: Int) throws -> (options: RunOptions, run: RunSummary) {
        var random = RandomJSON(seed: seed, hugeNumbers: false)
        var inputs: [InputFile] = []
        for number in 0..<exports {
            let input = dir.appendingPathComponent("export-\(number).ndjson")
            try Data(MixedExport.random(&random).stream).write(to: input)
            inputs.append(InputFile(path: input.path))
        }
        var options = RunOptions()
        options.spool = dir.appendingPathComponent("spool").path
        options.maxLineBytes = MixedExport.maxLineBytes
        return (options, try IngestRun(options: options).run(inputs))
    }

    @Test func everyAcceptedRecordIsAcknowledgedOnceThroughRandomFaults() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("replay-shell-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (options, run) = try Self.spool(in: dir, seed: 4_242, exports: 6)
        #expect(run.counts.accepted > 50, "the exports give enough to replay")

        var configuration = ReplayConfiguration()
        configuration.endpoint = "http://nudge.invalid/api"
        configuration.apiKey = "test-key"
        configuration.concurrency = 16
        configuration.limits.batchCount = 3
        configuration.retry.baseDelaySeconds = 0.001
        configuration.retry.maxDelaySeconds = 0.01
        configuration.retry.maxAttempts = 40
        let nudge = FlakyNudge(seed: 99)
        let summary = try await Replay(spool: options.spool, configuration: configuration).run(transport: nudge)

        #expect(summary.end == .delivered)
        let acknowledged = await nudge.acknowledgedRecords
        #expect(await nudge.doubled.isEmpty, "a key acknowledged twice")
        #expect(acknowledged.values.reduce(0, +) == run.counts.accepted)
        #expect(summary.tally.acknowledged == run.counts.accepted)
        #expect(summary.tally.retries > 0, "the faults were retried")
        #expect(await nudge.peakInFlight > 1, "sends overlapped")

        // The checkpoint says everything is done: a second replay has nothing to send.
        let again = FlakyNudge(seed: 1)
        let second = try await Replay(spool: options.spool, configuration: configuration).run(transport: again)
        #expect(second.end == .delivered)
        #expect(await again.attempts == 0)
    }

    /// A transport that must not be used.
    struct NoNudge: ReplayTransport {
        func send(_ request: OutgoingRequest) async -> HTTPAnswer {
            Issue.record("a dry run sent \(request.method) \(request.url)")
            return HTTPAnswer(status: 500)
        }
    }

    /// A dry run goes through its ``DryRunTransport``: every request shown, in the
    /// same order each time, counted in the summary with nothing answered, and
    /// nothing saved.
    @Test func aDryRunShowsAndCountsTheRequestsAndSavesNothing() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("replay-dry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (options, run) = try Self.spool(in: dir, seed: 77, exports: 1)

        var configuration = ReplayConfiguration()
        configuration.endpoint = "http://nudge.invalid/api"
        configuration.limits.batchCount = 3
        func dryRun() async throws -> (ReplaySummary, [OutgoingRequest]) {
            let shown = Mutex<[OutgoingRequest]>([])
            let summary = try await Replay(spool: options.spool, configuration: configuration, dryRun: true)
                .run(transport: NoNudge(), printRequest: { request in shown.withLock { $0.append(request) } })
            return (summary, shown.withLock { $0 })
        }
        let (summary, shown) = try await dryRun()
        #expect(summary.dryRun && summary.end == .delivered)
        #expect(summary.tally.requests == shown.count && summary.tally.sent == run.counts.accepted)
        #expect(summary.tally.acknowledged == 0 && summary.tally.latencies.isEmpty && summary.totalAcknowledged == 0)
        #expect(!FileManager.default.fileExists(atPath: options.spool + "/replay"))
        let (_, again) = try await dryRun()
        #expect(again == shown, "the requests came in another order")
    }

    /// Replay's file work (run on a thread of its own) hands its typed error back as
    /// it was thrown.
    @Test func fileWorkHandsBackItsError() async throws {
        await #expect(throws: ReplayError.self) {
            try await onFileThread { () throws(ReplayError) in throw .spool(.noSpool(path: "x")) }
        }
    }
}
