import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// `replay`'s ordering, batching, rejection and checkpoint rules, without sockets: a
/// simulated Nudge answers requests in random order, rejects some identifies, and the
/// process is "killed" at random points and resumed from the saved progress.
@Suite struct DeliverySchedulerTests {
    /// A spool as replay reads it: identifies and tracks of `users` users, every track
    /// after an identify of its user (rule 12), some users identified again later.
    static func spool(records: Int, users: Int, using generator: inout SeededGenerator) -> [ReplayRecord] {
        var identified: [String] = []
        var result: [ReplayRecord] = []
        for sequence in 0..<records {
            let newUser = identified.count < users && (identified.isEmpty || Int.random(in: 0..<4, using: &generator) == 0)
            if newUser || Int.random(in: 0..<20, using: &generator) == 0 {
                let user = newUser ? "user-\(identified.count)" : identified.randomElement(using: &generator)!
                if newUser { identified.append(user) }
                result.append(ReplayRecord(sequence: sequence, kind: .identify, extID: user, bodyBytes: 120))
            } else {
                result.append(ReplayRecord(sequence: sequence, kind: .track, extID: identified.randomElement(using: &generator)!,
                                           bodyBytes: Int.random(in: 50...3000, using: &generator)))
            }
        }
        return result
    }

    /// What the simulated Nudge saw and answered.
    struct Wire {
        var sent: [DeliveryRequest] = []
        var acknowledged: [Int: Int] = [:]  // sequence → times
        var rejected: Set<Int> = []
        var rejectedWithoutRequest: Set<Int> = []
        /// Users with an acknowledged identify.
        var identified: Set<String> = []
        /// Users whose latest answered identify was rejected.
        var rejectedNow: Set<String> = []
        var maxInFlight = 0
    }

    /// Drives a scheduler over `records` until done or until `killAfter` steps; answers
    /// requests in random order, rejecting identifies of users in `rejectIdentifies`.
    /// Returns the requests in flight when it stopped.
    @discardableResult
    static func drive(
        _ scheduler: inout DeliveryScheduler, _ records: [ReplayRecord], wire: inout Wire, concurrency: Int,
        rejectIdentifies: Set<String>, killAfter: Int? = nil, using generator: inout SeededGenerator
    ) -> [DeliveryRequest] {
        let byID = Dictionary(uniqueKeysWithValues: records.map { ($0.sequence, $0) })
        var nextRecord = 0
        var inFlight: [DeliveryRequest] = []
        var steps = 0
        while true {
            if let killAfter, steps >= killAfter { return inFlight }
            steps += 1
            while scheduler.wantsRecords && nextRecord < records.count {
                scheduler.enqueue(records[nextRecord])
                nextRecord += 1
            }
            // The scheduler forms requests; how many are in flight is the caller's limit.
            switch inFlight.count < concurrency ? scheduler.next() : .wait {
            case .send(let request):
                for sequence in request.sequences {
                    let record = byID[sequence]!
                    if record.kind == .track {
                        #expect(wire.identified.contains(record.extID) && !wire.rejectedNow.contains(record.extID),
                                "track \(sequence) of \(record.extID) sent before its identify was acknowledged")
                    }
                    let earlierInFlight = inFlight.flatMap(\.sequences).contains { byID[$0]!.extID == record.extID }
                    #expect(!earlierInFlight, "\(record.extID) has two requests in flight")
                }
                #expect(request.kind == .identify ? request.sequences.count == 1 : request.sequences.count <= scheduler.limits.batchCount)
                let bytes = request.sequences.map { byID[$0]!.bodyBytes }.reduce(0, +)
                #expect(request.sequences.count == 1 || bytes <= scheduler.limits.batchBytes)
                #expect(request.sequences == request.sequences.sorted())
                wire.sent.append(request)
                inFlight.append(request)
                wire.maxInFlight = max(wire.maxInFlight, inFlight.count)
            case .rejectWithoutRequest(let sequences):
                for sequence in sequences {
                    #expect(byID[sequence]!.kind == .track)
                    #expect(wire.rejectedNow.contains(byID[sequence]!.extID))
                    wire.rejectedWithoutRequest.insert(sequence)
                }
                scheduler.markRejectedWithoutRequest(sequences)
            case .wait:
                if inFlight.isEmpty {
                    #expect(nextRecord == records.count && scheduler.isIdle, "stuck with nothing in flight")
                    return []
                }
                let answer = inFlight.remove(at: Int.random(in: 0..<inFlight.count, using: &generator))
                let first = byID[answer.sequences[0]]!
                if answer.kind == .identify && rejectIdentifies.contains(first.extID) && Bool.random(using: &generator) {
                    wire.rejected.formUnion(answer.sequences)
                    wire.rejectedNow.insert(first.extID)
                    scheduler.rejected(answer.id)
                } else {
                    for sequence in answer.sequences { wire.acknowledged[sequence, default: 0] += 1 }
                    if answer.kind == .identify {
                        wire.identified.insert(first.extID)
                        wire.rejectedNow.remove(first.extID)
                    }
                    scheduler.acknowledged(answer.id)
                }
            }
        }
    }

    @Test(arguments: [1, 2, 4, 16])
    func everyRecordIsAnsweredOnceInUserOrder(concurrency: Int) {
        var generator = SeededGenerator(seed: UInt64(concurrency))
        let records = Self.spool(records: 3000, users: 150, using: &generator)
        var limits = DeliveryLimits()
        limits.batchCount = 25
        limits.batchBytes = 20_000
        limits.window = 400
        var scheduler = DeliveryScheduler(limits: limits)
        var wire = Wire()
        let rejecting: Set<String> = ["user-3", "user-40"]
        Self.drive(&scheduler, records, wire: &wire, concurrency: concurrency, rejectIdentifies: rejecting,
                   using: &generator)

        // Each record exactly once: acknowledged, rejected, or rejected without a request.
        let answered = Set(wire.acknowledged.keys).union(wire.rejected).union(wire.rejectedWithoutRequest)
        #expect(answered.count == records.count)
        #expect(wire.acknowledged.values.allSatisfy { $0 == 1 })
        #expect(wire.acknowledged.count + wire.rejected.count + wire.rejectedWithoutRequest.count == records.count)
        #expect(scheduler.watermark == records.count && scheduler.doneAfterWatermark.isEmpty)
        #expect(wire.maxInFlight <= concurrency)
        if concurrency > 1 { #expect(wire.maxInFlight > 1, "concurrency was not used") }

        // Per user, the wire order is the spool order.
        var lastSent: [String: Int] = [:]
        for request in wire.sent {
            for sequence in request.sequences {
                let user = records[sequence].extID
                #expect((lastSent[user] ?? -1) < sequence, "\(user): \(sequence) sent after \(lastSent[user]!)")
                lastSent[user] = sequence
            }
        }
        // Tracks went in batches, identifies alone.
        #expect(wire.sent.contains { $0.kind == .track && $0.sequences.count > 1 })
    }

    @Test func batchesRespectCountAndBytesAndAnOversizeTrackGoesAlone() {
        var limits = DeliveryLimits()
        limits.batchCount = 100
        limits.batchBytes = 10_000
        var scheduler = DeliveryScheduler(limits: limits)
        scheduler.enqueue(ReplayRecord(sequence: 0, kind: .identify, extID: "u", bodyBytes: 10))
        guard case .send(let identify) = scheduler.next() else { Issue.record("no identify"); return }
        #expect(identify.kind == .identify && identify.sequences == [0])
        #expect(scheduler.next() == .wait)
        scheduler.acknowledged(identify.id)
        for sequence in 1...250 {
            scheduler.enqueue(ReplayRecord(sequence: sequence, kind: .track, extID: "u\(sequence)", bodyBytes: 50))
        }
        scheduler.enqueue(ReplayRecord(sequence: 251, kind: .track, extID: "big", bodyBytes: 50_000))
        var sizes: [Int] = []
        while case .send(let batch) = scheduler.next() {
            sizes.append(batch.sequences.count)
            scheduler.acknowledged(batch.id)
        }
        #expect(sizes == [100, 100, 50, 1])
        #expect(scheduler.watermark == 252)
    }

    /// A rejected identify rejects its user's later tracks without a request, until an
    /// identify of that user is acknowledged again.
    @Test func aRejectedIdentifyRejectsItsUsersTracks() {
        var scheduler = DeliveryScheduler(limits: DeliveryLimits())
        let records: [ReplayRecord] = [
            .init(sequence: 0, kind: .identify, extID: "bad", bodyBytes: 10),
            .init(sequence: 1, kind: .track, extID: "bad", bodyBytes: 10),
            .init(sequence: 2, kind: .track, extID: "bad", bodyBytes: 10),
            .init(sequence: 3, kind: .identify, extID: "bad", bodyBytes: 10),
            .init(sequence: 4, kind: .track, extID: "bad", bodyBytes: 10),
        ]
        for record in records { scheduler.enqueue(record) }
        guard case .send(let first) = scheduler.next() else { Issue.record("no identify"); return }
        scheduler.rejected(first.id)
        #expect(scheduler.rejectedUsers == ["bad"])
        #expect(scheduler.next() == .rejectWithoutRequest([1, 2]))
        scheduler.markRejectedWithoutRequest([1, 2])
        guard case .send(let second) = scheduler.next(), second.sequences == [3] else { Issue.record("no second identify"); return }
        scheduler.acknowledged(second.id)
        #expect(scheduler.rejectedUsers.isEmpty)
        guard case .send(let track) = scheduler.next() else { Issue.record("no track"); return }
        #expect(track.kind == .track && track.sequences == [4])
    }

    /// Killed at random points and resumed from the saved watermark and done set (and
    /// rejected users): every record is answered, and only what was in flight at a
    /// kill is sent twice.
    @Test func aResumedReplayRepeatsOnlyWhatWasInFlight() {
        var generator = SeededGenerator(seed: 77)
        for round in 0..<30 {
            let records = Self.spool(records: 600, users: 40, using: &generator)
            var limits = DeliveryLimits()
            limits.batchCount = 10
            limits.window = 120
            var wire = Wire()
            var progress = (watermark: 0, done: Set<Int>(), rejected: Set<String>())
            var repeatable: Set<Int> = []
            for _ in 0..<3 {
                var scheduler = DeliveryScheduler(limits: limits, watermark: progress.watermark, done: progress.done,
                                                  rejectedUsers: progress.rejected)
                let inFlight = Self.drive(&scheduler, records, wire: &wire, concurrency: 4, rejectIdentifies: ["user-5"],
                                          killAfter: Int.random(in: 1...200, using: &generator), using: &generator)
                repeatable.formUnion(inFlight.flatMap(\.sequences))
                progress = (scheduler.watermark, scheduler.doneAfterWatermark, scheduler.rejectedUsers)
            }
            var scheduler = DeliveryScheduler(limits: limits, watermark: progress.watermark, done: progress.done,
                                              rejectedUsers: progress.rejected)
            Self.drive(&scheduler, records, wire: &wire, concurrency: 4, rejectIdentifies: ["user-5"], using: &generator)
            let answered = Set(wire.acknowledged.keys).union(wire.rejected).union(wire.rejectedWithoutRequest)
            #expect(answered.count == records.count, "round \(round): records lost")
            let sentTwice = Set(wire.sent.flatMap(\.sequences).reduce(into: [Int: Int]()) { $0[$1, default: 0] += 1 }
                .filter { $0.value > 1 }.keys)
            #expect(sentTwice.isSubset(of: repeatable), "round \(round): \(sentTwice.subtracting(repeatable)) repeated")
        }
    }
}
