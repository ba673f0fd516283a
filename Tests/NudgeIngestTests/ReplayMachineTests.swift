import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// `replay`'s whole policy without sockets: the ``ReplayMachine`` driven by a simulated
/// Nudge on a simulated clock. The simulation answers out of order, with latency,
/// 5xx, 429 with Retry-After, timeouts, 413 for large batches and rejected identifies;
/// the process is killed at random instants and resumed from the last saved
/// checkpoint and the rejected spool it vouches for.
@Suite struct ReplayMachineTests {
    /// What the simulated Nudge does with one attempt.
    struct Reply {
        var answer: HTTPAnswer
        var latency: Double
    }

    /// A spool as replay reads it: identifies and tracks, every track after an
    /// identify of its user (rule 12), some users identified again later.
    static func spool(records: Int, users: Int, using generator: inout SeededGenerator) -> [AcceptedRecord] {
        DeliverySchedulerTests.spool(records: records, users: users, using: &generator).map { record in
            let body = Array(#"{"ext_id":"\#(record.extID)","n":\#(record.sequence)}"#.utf8)
            return AcceptedRecord(
                record: ReplayRecord(sequence: record.sequence, kind: record.kind, extID: record.extID, bodyBytes: body.count),
                body: body, messageID: "m\(record.sequence)", commit: 1, line: record.sequence + 1)
        }
    }

    /// The world outside the machine: the "disk" (saved checkpoint, rejected spool),
    /// the wire, and what the server has seen.
    struct World {
        var records: [AcceptedRecord]
        var saved = ReplayCheckpoint()
        var rejectedSpool: [UInt8] = []
        /// Per record: acknowledgements at the server, by idempotency key.
        var acknowledged: [Int: [String]] = [:]
        /// Users whose identify the server acknowledged, and those whose latest answered
        /// identify it rejected.
        var identified: Set<String> = []
        var rejectedNow: Set<String> = []
        /// Records answered (acknowledged or rejected) at the server.
        var answered: Set<Int> = []
        var sendTimes: [Double] = []
        var requests: [(at: Double, records: [Int])] = []
        var maxOnWire = 0
        var saves: [Double] = []
        var checkpointsSaved = 0

        var byBody: [String: Int] {
            Dictionary(uniqueKeysWithValues: records.map { (String(decoding: $0.body, as: UTF8.self), $0.record.sequence) })
        }
    }

    /// Runs one machine over `world` until it finishes or `killAt` (a simulated
    /// instant) passes. Returns how it ended (nil: killed) and the sequences that
    /// were on the wire or answered after the last save when it was killed.
    @discardableResult
    static func live(
        _ world: inout World, configuration: ReplayConfiguration, startAt: Double = 0, killAt: Double? = nil,
        interruptAt: Double? = nil, seed: UInt64 = 1, reply: (OutgoingRequest, [Int], inout World) -> Reply
    ) -> (end: ReplayEnd?, clock: Double, machine: ReplayMachine) {
        let bodies = world.byBody
        var machine = ReplayMachine(configuration: configuration, saved: world.saved, seed: seed)
        var nextRecord = machine.firstWanted
        var clock = startAt
        var pendingAnswers: [(at: Double, id: Int, answer: HTTPAnswer, sequences: [Int])] = []
        var wakes: [Double] = []
        var actions = machine.start(now: clock)
        var interrupted = false
        var events = 0
        while true {
            events += 1
            if events > 200_000 {
                Issue.record("no end after 200,000 events (clock \(clock), \(pendingAnswers.count) on the wire, wakes \(wakes.sorted().prefix(3)))")
                return (nil, clock, machine)
            }
            var index = 0
            while index < actions.count {
                let action = actions[index]
                index += 1
                switch action {
                case .read(let count):
                    var batch: [AcceptedRecord] = []
                    while batch.count < count && nextRecord < world.records.count {
                        if machine.wants(nextRecord) { batch.append(world.records[nextRecord]) }
                        nextRecord += 1
                    }
                    actions += machine.handle(.read(batch, atEnd: nextRecord == world.records.count), now: clock)
                case .send(let send):
                    let sequences = sequencesIn(send.request, bodies)
                    // Per user, every earlier record is answered, and a track's identify
                    // is acknowledged.
                    for sequence in sequences {
                        let record = world.records[sequence].record
                        let earlier = world.records[..<sequence].filter { $0.record.extID == record.extID }
                        #expect(earlier.allSatisfy { world.answered.contains($0.record.sequence) || sequences.contains($0.record.sequence) },
                                "\(record.extID): \(sequence) sent before an earlier record was answered")
                        if record.kind == .track {
                            #expect(world.identified.contains(record.extID), "track \(sequence) before its identify")
                        }
                    }
                    world.sendTimes.append(clock)
                    world.requests.append((clock, sequences))
                    let result = reply(send.request, sequences, &world)
                    pendingAnswers.append((clock + result.latency, send.id, result.answer, sequences))
                    world.maxOnWire = max(world.maxOnWire, pendingAnswers.count)
                case .writeRejected(let lines):
                    world.rejectedSpool += lines
                    for line in String(decoding: lines, as: UTF8.self).split(separator: "\n") {
                        let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                        if let sequence = (object?["accepted"] as? [String: Any])?["sequence"] as? Int {
                            world.answered.insert(sequence)
                        }
                    }
                case .saveCheckpoint(let checkpoint):
                    #expect(world.rejectedSpool.count >= checkpoint.rejectedBytes)
                    world.saved = checkpoint
                    world.checkpointsSaved += 1
                    world.saves.append(clock)
                case .wake(let at):
                    wakes.append(at)
                case .finish(let end):
                    return (end, clock, machine)
                }
            }
            actions = []
            // The next instant something happens.
            let nextAnswer = pendingAnswers.min { $0.at < $1.at }
            let nextWake = wakes.min()
            var candidates = [nextAnswer?.at, nextWake].compactMap { $0 }
            if let interruptAt, !interrupted { candidates.append(interruptAt) }
            guard let next = candidates.min() else {
                Issue.record("the machine waits for nothing and has not finished")
                return (nil, clock, machine)
            }
            if let killAt, next >= killAt {
                // Killed: the disk keeps the last checkpoint and what the rejected
                // spool had (cut to what the checkpoint vouches for on the next open).
                world.rejectedSpool = Array(world.rejectedSpool.prefix(world.saved.rejectedBytes))
                return (nil, killAt, machine)
            }
            clock = max(clock, next)
            if let interruptAt, !interrupted, clock >= interruptAt {
                interrupted = true
                actions = machine.handle(.interrupted, now: clock)
            } else if let answer = nextAnswer, answer.at <= clock {
                pendingAnswers.removeAll { $0.id == answer.id }
                if (200..<300).contains(answer.answer.status ?? 0) { world.answered.formUnion(answer.sequences) }
                actions = machine.handle(.answered(answer.id, answer.answer), now: clock)
            } else {
                wakes.removeAll { $0 <= clock }
                actions = machine.handle(.tick, now: clock)
            }
        }
    }

    static func sequencesIn(_ request: OutgoingRequest, _ bodies: [String: Int]) -> [Int] {
        let text = String(decoding: request.body, as: UTF8.self)
        if request.method == "PUT" { return [bodies[text]!] }
        // The bodies are flat objects: split the array between "}" and "{".
        let inner = text.dropFirst().dropLast()
        return inner.components(separatedBy: "},{").map { part in
            var body = part
            if !body.hasPrefix("{") { body = "{" + body }
            if !body.hasSuffix("}") { body += "}" }
            return bodies[body]!
        }
    }

    /// A Nudge that acknowledges everything after `latency`, and records it.
    static func acknowledge(_ request: OutgoingRequest, _ sequences: [Int], _ world: inout World, latency: Double = 0.01) -> Reply {
        let key = request.headers.first { $0.name == "Idempotency-Key" }!.value
        for sequence in sequences {
            world.acknowledged[sequence, default: []].append(key)
            let record = world.records[sequence].record
            if record.kind == .identify {
                world.identified.insert(record.extID)
                world.rejectedNow.remove(record.extID)
            }
        }
        return Reply(answer: HTTPAnswer(status: 200), latency: latency)
    }

    static func configuration(concurrency: Int = 8, batch: Int = 20) -> ReplayConfiguration {
        var configuration = ReplayConfiguration()
        configuration.endpoint = "http://nudge.test"
        configuration.apiKey = "key"
        configuration.concurrency = concurrency
        configuration.limits.batchCount = batch
        configuration.limits.window = 300
        configuration.retry.maxAttempts = 1000
        configuration.retry.maxTotalSeconds = 100_000
        return configuration
    }

    /// Rejected spool lines, parsed.
    static func rejectedLines(_ world: World) throws -> [[String: Any]] {
        try String(decoding: world.rejectedSpool, as: UTF8.self).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    // MARK: - The random simulation

    /// Faults, rejections, 413s and kills at random instants: every record ends
    /// acknowledged or in the rejected spool exactly once; per user, spool order on the
    /// wire; what a kill repeats is bounded by what was on the wire or answered since
    /// the last group commit.
    @Test(arguments: [1, 2, 3, 4, 5, 6])
    func killedAtRandomNothingIsLostAndRepeatsAreBounded(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var world = World(records: Self.spool(records: 1500, users: 90, using: &generator))
        var configuration = Self.configuration(concurrency: 16, batch: 40)
        configuration.checkpointEveryAnswers = 25
        let rejectUsers: Set<String> = ["user-4", "user-31"]
        let reply = { (request: OutgoingRequest, sequences: [Int], world: inout World) -> Reply in
            let latency = Double.random(in: 0.001...0.08, using: &generator)
            let roll = Int.random(in: 0..<100, using: &generator)
            if sequences.count > 25 { return Reply(answer: HTTPAnswer(status: 413), latency: latency) }
            if roll < 5 { return Reply(answer: HTTPAnswer(status: 503), latency: latency) }
            if roll < 8 { return Reply(answer: HTTPAnswer(status: 429, retryAfter: "1"), latency: latency) }
            if roll < 10 { return Reply(answer: HTTPAnswer(status: nil, failure: "timed out", timedOut: true), latency: 10) }
            if roll < 12 { return Reply(answer: HTTPAnswer(status: nil, failure: "connection closed"), latency: latency) }
            let first = world.records[sequences[0]].record
            if request.method == "PUT" && rejectUsers.contains(first.extID) && (first.extID == "user-4" || roll % 2 == 0) {
                world.rejectedNow.insert(first.extID)
                return Reply(answer: HTTPAnswer(status: 422, body: Array("bad identify".utf8)), latency: latency)
            }
            return Self.acknowledge(request, sequences, &world, latency: latency)
        }
        var clock = 0.0
        var kills = 0
        var repeatable: Set<Int> = []
        for _ in 0..<6 {
            let killAt = clock + Double.random(in: 0.05...3, using: &generator)
            let life = Self.live(&world, configuration: configuration, startAt: clock, killAt: killAt, seed: seed, reply: reply)
            clock = life.clock
            if life.end != nil { break }
            kills += 1
            // What the next life may send again: what the server acknowledged and the saved
            // checkpoint does not count as done, which group commit bounds by the
            // answers of the last 200 ms (here 25 answers) and the requests in flight.
            let unsaved = world.acknowledged.keys.filter { $0 >= world.saved.watermark && !world.saved.done.contains($0) }
            #expect(unsaved.count <= (configuration.checkpointEveryAnswers + configuration.concurrency)
                        * configuration.limits.batchCount)
            repeatable.formUnion(unsaved)
        }
        let finished = Self.live(&world, configuration: configuration, startAt: clock, seed: seed, reply: reply)
        #expect(finished.end == .delivered)
        #expect(kills >= 2, "the kills landed after the end: \(kills)")

        let rejected = try Self.rejectedLines(world)
        let rejectedSequences = rejected.map { ($0["accepted"] as! [String: Any])["sequence"] as! Int }
        #expect(Set(rejectedSequences).count == rejectedSequences.count, "a record rejected twice")
        let delivered = Set(world.acknowledged.keys)
        #expect(delivered.union(rejectedSequences).count == world.records.count, "records lost")
        #expect(world.saved.watermark == world.records.count && world.saved.done.isEmpty)
        // An idempotency key absorbs repeats of the same request; across different
        // keys (a batch re-formed after a kill), a record repeats only within the bound.
        let repeated = Set(world.acknowledged.filter { $0.value.count > 1 }.keys)
        #expect(repeated.isSubset(of: repeatable), "repeated without a kill's excuse: \(repeated.subtracting(repeatable).sorted())")
        #expect(rejected.contains { $0["status"] as? Int == 422 })
    }

    // MARK: - Operator mistakes

    /// Every request answered 401: the replay stops with exit 1 at once, saves nothing
    /// it did not have, rejects nothing, and says how to fix it.
    @Test func aRefusedKeyStopsAndConsumesNothing() {
        var generator = SeededGenerator(seed: 9)
        var world = World(records: Self.spool(records: 300, users: 30, using: &generator))
        let life = Self.live(&world, configuration: Self.configuration()) { _, _, _ in
            Reply(answer: HTTPAnswer(status: 401, body: Array("bad key".utf8)), latency: 0.01)
        }
        guard case .stopped(let reason, let status) = life.end else { Issue.record("did not stop: \(String(describing: life.end))"); return }
        #expect(status == 1 && reason.hasPrefix("the API key was refused (401): check NUDGE_API_KEY / --api-key"))
        #expect(world.saved == ReplayCheckpoint() && world.rejectedSpool.isEmpty)
        #expect(world.requests.count <= 4, "it kept sending after the first 401: \(world.requests.count)")
    }

    /// A key revoked half-way: what was acknowledged before is saved, nothing after the
    /// first 401 is consumed, and a replay with a good key delivers the rest.
    @Test func aKeyRevokedHalfWayStopsAndTheRestIsDeliveredLater() throws {
        var generator = SeededGenerator(seed: 10)
        var world = World(records: Self.spool(records: 400, users: 40, using: &generator))
        var served = 0
        let life = Self.live(&world, configuration: Self.configuration(concurrency: 4)) { request, sequences, world in
            served += 1
            if served > 30 { return Reply(answer: HTTPAnswer(status: 403), latency: 0.01) }
            return Self.acknowledge(request, sequences, &world)
        }
        guard case .stopped(_, 1) = life.end else { Issue.record("did not stop with 1"); return }
        let acknowledged = Set(world.acknowledged.keys)
        #expect(world.saved.watermark + world.saved.done.count == acknowledged.count)
        #expect(world.rejectedSpool.isEmpty)
        let resumed = Self.live(&world, configuration: Self.configuration(concurrency: 4)) { request, sequences, world in
            Self.acknowledge(request, sequences, &world)
        }
        #expect(resumed.end == .delivered)
        #expect(Set(world.acknowledged.keys).count == world.records.count)
        #expect(world.acknowledged.values.allSatisfy { $0.count == 1 }, "a record acknowledged twice")
    }

    /// 404 before the route ever worked: a wrong endpoint, stop with exit 1. After the
    /// route answered 2xx, a 404 is a fault and is retried.
    @Test func aMissingRouteStopsOnlyUntilTheRouteHasWorked() {
        var generator = SeededGenerator(seed: 11)
        var world = World(records: Self.spool(records: 200, users: 20, using: &generator))
        let wrong = Self.live(&world, configuration: Self.configuration()) { _, _, _ in
            Reply(answer: HTTPAnswer(status: 404), latency: 0.01)
        }
        guard case .stopped(let reason, 1) = wrong.end else { Issue.record("did not stop"); return }
        #expect(reason.contains("PUT http://nudge.test/identify answered 404") && reason.contains("check --endpoint"))
        #expect(world.saved == ReplayCheckpoint() && world.rejectedSpool.isEmpty)

        var served = 0
        let flaky = Self.live(&world, configuration: Self.configuration()) { request, sequences, world in
            served += 1
            if served > 20 && served % 7 == 0 { return Reply(answer: HTTPAnswer(status: 404), latency: 0.01) }
            return Self.acknowledge(request, sequences, &world)
        }
        #expect(flaky.end == .delivered)
        #expect(flaky.machine.tally.retries > 0)
        #expect(Set(world.acknowledged.keys).count == world.records.count)
    }

    /// No connection at all (refused, no such host, TLS) before the destination ever
    /// answered: a wrong endpoint, stop with exit 1 at once. After it has answered, an
    /// outage is retried, and the progress shows the last problem.
    @Test func anUnreachableEndpointStopsOnlyUntilItHasAnswered() {
        var generator = SeededGenerator(seed: 13)
        var world = World(records: Self.spool(records: 200, users: 20, using: &generator))
        let refused = HTTPAnswer(status: nil, failure: "connection refused", unreachable: true)
        let wrong = Self.live(&world, configuration: Self.configuration()) { _, _, _ in Reply(answer: refused, latency: 0.001) }
        guard case .stopped(let reason, 1) = wrong.end else { Issue.record("did not stop: \(String(describing: wrong.end))"); return }
        #expect(reason.contains("could not reach http://nudge.test/identify (connection refused)") && reason.contains("--endpoint"))
        #expect(wrong.machine.tally.retries == 0)
        #expect(world.saved == ReplayCheckpoint() && world.rejectedSpool.isEmpty)

        var served = 0
        let outage = Self.live(&world, configuration: Self.configuration()) { request, sequences, world in
            served += 1
            if served > 10 && served <= 25 { return Reply(answer: refused, latency: 0.001) }
            return Self.acknowledge(request, sequences, &world)
        }
        #expect(outage.end == .delivered)
        #expect(outage.machine.tally.retries >= 15 && outage.machine.tally.lastProblem == "connection refused")
        #expect(Set(world.acknowledged.keys).count == world.records.count)
    }

    /// Resuming progress the destination has answered before: an outage now is retried
    /// and, when retries are spent, stops with exit 2 (run again), not exit 1 (a wrong
    /// endpoint).
    @Test func anOutageOfADestinationThatAnsweredBeforeIsRetried() {
        var generator = SeededGenerator(seed: 14)
        var world = World(records: Self.spool(records: 2000, users: 200, using: &generator))
        let halfway = Self.live(&world, configuration: Self.configuration(), killAt: 0.5) { request, sequences, world in
            Self.acknowledge(request, sequences, &world, latency: 0.05)
        }
        #expect(halfway.end == nil && world.saved.acknowledged > 0)
        var configuration = Self.configuration()
        configuration.retry.maxAttempts = 3
        let refused = HTTPAnswer(status: nil, failure: "connection refused", unreachable: true)
        let outage = Self.live(&world, configuration: configuration, startAt: 1) { _, _, _ in Reply(answer: refused, latency: 0.001) }
        guard case .stopped(let reason, 2) = outage.end else { Issue.record("\(String(describing: outage.end))"); return }
        #expect(reason.contains("gave up after 3 attempts (connection refused)"))
        #expect(outage.machine.tally.retries > 0)
    }

    /// Unknown answers (a redirect, 501) stop with exit 1 and consume nothing.
    @Test func anAnswerThatIsNeitherJudgementNorFaultStops() {
        for status in [301, 501, 505, 415] {
            var generator = SeededGenerator(seed: 12)
            var world = World(records: Self.spool(records: 50, users: 5, using: &generator))
            let life = Self.live(&world, configuration: Self.configuration()) { _, _, _ in
                Reply(answer: HTTPAnswer(status: status), latency: 0.01)
            }
            guard case .stopped(let reason, 1) = life.end else { Issue.record("\(status) did not stop"); continue }
            #expect(reason.contains("HTTP \(status)"))
            #expect(world.rejectedSpool.isEmpty && world.saved == ReplayCheckpoint())
        }
    }

    // MARK: - 413, Retry-After, AIMD, group commit, Ctrl-C

    /// Nudge answers 413 to bodies over 4,000 bytes and to batches over 7 records:
    /// batches are halved until they fit, in order; a record too large alone is
    /// rejected, and nothing else is.
    @Test func payloadTooLargeHalvesTheBatchAndRejectsASingleRecord() throws {
        var generator = SeededGenerator(seed: 13)
        var world = World(records: Self.spool(records: 600, users: 10, using: &generator))
        let huge = world.records.first { $0.record.kind == .track && $0.record.sequence > 100 }!
        let body = Array(#"{"ext_id":"\#(huge.record.extID)","n":\#(huge.record.sequence),"pad":"\#(String(repeating: "x", count: 5000))"}"#.utf8)
        world.records[huge.record.sequence] = AcceptedRecord(
            record: ReplayRecord(sequence: huge.record.sequence, kind: .track, extID: huge.record.extID, bodyBytes: body.count),
            body: body, messageID: huge.messageID, commit: 1, line: huge.line)
        let life = Self.live(&world, configuration: Self.configuration(batch: 100)) { request, sequences, world in
            if sequences.count > 7 || request.body.count > 4000 { return Reply(answer: HTTPAnswer(status: 413), latency: 0.01) }
            return Self.acknowledge(request, sequences, &world)
        }
        #expect(life.end == .delivered)
        #expect(life.machine.tally.splits >= 4)
        let rejected = try Self.rejectedLines(world)
        #expect(rejected.count == 1 && rejected.first?["status"] as? Int == 413)
        #expect((rejected.first?["accepted"] as? [String: Any])?["sequence"] as? Int == huge.record.sequence)
        #expect(Set(world.acknowledged.keys).count == world.records.count - 1)
        #expect(world.acknowledged.values.allSatisfy { $0.count == 1 })
        // After the splits, batches carry at most 6 (100 → 50 → 25 → 12 → 6).
        let batches = world.requests.filter { $0.records.count > 1 }
        #expect(batches.suffix(10).allSatisfy { $0.records.count <= 7 })
    }

    /// A 429 with Retry-After: 2 pauses every slot: nothing starts for 2 s.
    @Test func retryAfterPausesEverySlot() {
        var generator = SeededGenerator(seed: 14)
        var world = World(records: Self.spool(records: 400, users: 40, using: &generator))
        var pausedAt: Double?
        var served = 0
        let life = Self.live(&world, configuration: Self.configuration(concurrency: 8)) { request, sequences, world in
            served += 1
            if served == 10 {
                pausedAt = world.sendTimes.last! + 0.01
                return Reply(answer: HTTPAnswer(status: 429, retryAfter: "2"), latency: 0.01)
            }
            return Self.acknowledge(request, sequences, &world)
        }
        #expect(life.end == .delivered)
        let pause = pausedAt!
        #expect(!world.sendTimes.contains { $0 > pause && $0 < pause + 2 }, "a request started during the pause")
        #expect(world.sendTimes.contains { $0 >= pause + 2 })
    }

    /// Clean fast answers grow the number in flight to the ceiling; a 429 halves it.
    @Test func concurrencyGrowsWhileCleanAndHalvesOnCongestion() {
        var limit = ConcurrencyLimit(ceiling: 32)
        #expect(limit.current == 4)
        for _ in 0..<40 { limit.answered(latency: 0.05) }
        #expect(limit.current == 32)
        limit.congested(sentAt: 1, now: 1.05)
        #expect(limit.current == 16)
        limit.congested(sentAt: 1.01, now: 1.06)  // the same round trip: no second cut
        #expect(limit.current == 16)
        limit.congested(sentAt: 1.1, now: 1.2)
        #expect(limit.current == 8)
        for _ in 0..<9 { limit.answered(latency: 0.05) }
        #expect(limit.current == 9, "additive increase: one per window of answers")
        for _ in 0..<200 { limit.answered(latency: 0.5) }  // slow answers: hold
        #expect(limit.current == 9)
        let fixed = ConcurrencyLimit(ceiling: 4, fixed: true)
        #expect(fixed.current == 4)

        // In the machine: with 50 ms answers, the number in flight reaches the ceiling.
        var generator = SeededGenerator(seed: 15)
        var world = World(records: Self.spool(records: 3000, users: 600, using: &generator))
        var configuration = Self.configuration(concurrency: 24, batch: 5)
        configuration.limits.window = 3000
        let life = Self.live(&world, configuration: configuration) { request, sequences, world in
            Self.acknowledge(request, sequences, &world, latency: 0.05)
        }
        #expect(life.end == .delivered && world.maxOnWire == 24)
    }

    /// The checkpoint is saved at most every 200 ms or 1,000 answers: a slow steady
    /// stream of answers saves about five times a second, not once per answer.
    @Test func checkpointsAreGroupCommitted() {
        var generator = SeededGenerator(seed: 16)
        var world = World(records: Self.spool(records: 2000, users: 2000, using: &generator))
        var configuration = Self.configuration(concurrency: 4, batch: 1)
        configuration.checkpointEveryAnswers = 1000
        configuration.limits.window = 2000
        let life = Self.live(&world, configuration: configuration) { request, sequences, world in
            Self.acknowledge(request, sequences, &world, latency: 0.01)  // 400 answers/s
        }
        #expect(life.end == .delivered)
        let seconds = life.clock
        #expect(Double(world.checkpointsSaved) <= seconds / 0.2 + 2, "\(world.checkpointsSaved) saves in \(seconds) s")
        #expect(world.checkpointsSaved >= 2)
        for (earlier, later) in zip(world.saves, world.saves.dropFirst().dropLast()) {
            #expect(later - earlier >= 0.2 - 1e-9)
        }
        #expect(world.saved.watermark == 2000)
    }

    /// Ctrl-C: nothing new starts, what is in flight is answered and saved, the end is
    /// `interrupted`; the next replay delivers the rest exactly once.
    @Test func anInterruptFinishesWhatIsInFlightAndSaves() {
        var generator = SeededGenerator(seed: 17)
        var world = World(records: Self.spool(records: 500, users: 50, using: &generator))
        let life = Self.live(&world, configuration: Self.configuration(), interruptAt: 0.3) { request, sequences, world in
            Self.acknowledge(request, sequences, &world, latency: 0.05)
        }
        #expect(life.end == .interrupted)
        #expect(!world.sendTimes.contains { $0 > 0.3 }, "a request started after Ctrl-C")
        #expect(world.saved.watermark + world.saved.done.count == Set(world.acknowledged.keys).count)
        #expect(Set(world.acknowledged.keys).count < world.records.count)
        let resumed = Self.live(&world, configuration: Self.configuration()) { request, sequences, world in
            Self.acknowledge(request, sequences, &world)
        }
        #expect(resumed.end == .delivered)
        #expect(world.acknowledged.count == world.records.count && world.acknowledged.values.allSatisfy { $0.count == 1 })
    }

    /// Spent retries stop with exit 2 and skip nothing.
    @Test func spentRetriesStopWithoutConsuming() {
        var generator = SeededGenerator(seed: 18)
        var world = World(records: Self.spool(records: 100, users: 10, using: &generator))
        var configuration = Self.configuration()
        configuration.retry.maxAttempts = 3
        let life = Self.live(&world, configuration: configuration) { _, _, _ in
            Reply(answer: HTTPAnswer(status: 503), latency: 0.01)
        }
        guard case .stopped(let reason, 2) = life.end else { Issue.record("did not stop with 2"); return }
        #expect(reason == "gave up after 3 attempts (HTTP 503)")
        #expect(world.saved == ReplayCheckpoint() && world.rejectedSpool.isEmpty)
    }

    /// Requeued records (below the watermark) are read and sent again in spool order,
    /// with the rest; the checkpoint then has none left.
    @Test func requeuedRecordsAreSentAgainInOrder() {
        var generator = SeededGenerator(seed: 19)
        var world = World(records: Self.spool(records: 300, users: 30, using: &generator))
        let identify = world.records.first { $0.record.kind == .identify }!.record
        let tracks = world.records.filter { $0.record.kind == .track && $0.record.extID == identify.extID }.prefix(3)
            .map(\.record.sequence)
        let requeued = [identify.sequence] + tracks
        world.saved.watermark = 200
        world.saved.requeued = Set(requeued)
        world.identified = []
        world.answered = Set(0..<200).subtracting(world.saved.requeued)
        // Users whose identify was delivered before the watermark are identified.
        for record in world.records.prefix(200) where record.record.kind == .identify && record.record.extID != identify.extID {
            world.identified.insert(record.record.extID)
        }
        let life = Self.live(&world, configuration: Self.configuration()) { request, sequences, world in
            Self.acknowledge(request, sequences, &world)
        }
        #expect(life.end == .delivered)
        #expect(Set(world.acknowledged.keys) == Set(requeued).union(200..<300))
        #expect(world.saved.requeued.isEmpty && world.saved.watermark == 300)
        let order = world.requests.flatMap(\.records).filter { requeued.contains($0) }
        #expect(order == requeued)
    }
}
