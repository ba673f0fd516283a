import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSystem

/// The ``ReplayMachine`` one event at a time, each step's actions and state compared
/// in full (as async-http-client tests its `HTTPRequestStateMachine`): what the
/// simulations of ``ReplayMachineTests`` check in aggregate, here in order.
@Suite struct ReplayMachineStepTests {
    static let configuration = ReplayMachineTests.configuration()

    static func record(_ sequence: Int, _ kind: ReplayRecord.Kind, user: String) -> AcceptedRecord {
        let body = Array(#"{"ext_id":"\#(user)","n":\#(sequence)}"#.utf8)
        return AcceptedRecord(record: ReplayRecord(sequence: sequence, kind: kind, extID: user, bodyBytes: body.count),
                              body: body, messageID: "m\(sequence)", commit: 1, line: sequence + 1)
    }

    /// The send of `records` as attempt `id`.
    static func send(_ id: Int, _ kind: ReplayRecord.Kind, _ records: [AcceptedRecord]) -> ReplayMachine.Action {
        let request = DeliveryRequest(id: 0, kind: kind, sequences: records.map(\.record.sequence))
        return .send(ReplaySend(id: id, request: OutgoingRequest(request, carrying: records, configuration: configuration)))
    }

    static func answer(_ status: Int?, body: String = "") -> HTTPAnswer {
        HTTPAnswer(status: status, body: Array(body.utf8), receivedAt: 0)
    }

    /// The checkpoint a finished replay of `records` saves.
    static func checkpoint(watermark: Int, done: Set<Int> = [], acknowledged: Int = 0, rejected: Int = 0,
                           rejectedBytes: Int = 0, rejectedUsers: Set<String> = []) -> ReplayCheckpoint {
        var checkpoint = ReplayCheckpoint()
        checkpoint.watermark = watermark
        checkpoint.done = done
        checkpoint.acknowledged = acknowledged
        checkpoint.rejected = rejected
        checkpoint.rejectedBytes = rejectedBytes
        checkpoint.rejectedUsers = rejectedUsers
        return checkpoint
    }

    /// An identify, then its user's tracks in one batch once it is acknowledged; the
    /// group commit waits 200 ms, and the end saves at once.
    @Test func anIdentifyThenItsTracks() {
        var machine = ReplayMachine(configuration: Self.configuration, saved: ReplayCheckpoint(), seed: 1)
        #expect(machine.state == .idle)
        #expect(machine.start(now: 0) == [.read(upTo: 300)])
        #expect(machine.state == .reading)

        let identify = Self.record(0, .identify, user: "u1")
        let tracks = [Self.record(1, .track, user: "u1"), Self.record(2, .track, user: "u1")]
        #expect(machine.handle(.read([identify] + tracks, atEnd: true), now: 0) == [Self.send(1, .identify, [identify])])
        #expect(machine.state == .sendingRest && machine.inFlight == 1)

        #expect(machine.handle(.answered(1, Self.answer(200)), now: 0.05)
                == [Self.send(2, .track, tracks), .wake(at: 0.05 + Self.configuration.checkpointEverySeconds)])
        #expect(machine.handle(.answered(2, Self.answer(200)), now: 0.1)
                == [.saveCheckpoint(Self.checkpoint(watermark: 3, acknowledged: 3)), .finish(.delivered)])
        #expect(machine.state == .finished(.delivered))
        #expect(machine.handle(.tick, now: 1) == [] && machine.handle(.interrupted, now: 1) == [])
    }

    /// More of the spool to read: the next read is asked for first, for the room the
    /// window has left, then the sends; one read at a time.
    @Test func aReadLeavesRoomForTheNext() {
        var machine = ReplayMachine(configuration: Self.configuration, saved: ReplayCheckpoint(), seed: 1)
        _ = machine.start(now: 0)
        let first = Self.record(0, .identify, user: "u1")
        let second = Self.record(1, .identify, user: "u2")
        #expect(machine.handle(.read([first, second], atEnd: false), now: 0)
                == [.read(upTo: 298), Self.send(1, .identify, [first]), Self.send(2, .identify, [second])])
        #expect(machine.state == .reading)
        #expect(machine.handle(.answered(1, Self.answer(200)), now: 0.01) == [.wake(at: 0.01 + 0.2)])
        #expect(machine.handle(.read([], atEnd: true), now: 0.02) == [.wake(at: 0.01 + 0.2)])
        #expect(machine.state == .sendingRest)
    }

    /// A 503: the attempt waits for its backoff (the jitter's first draw), then goes
    /// again under the same request; the problem shows in the tally.
    @Test func aFaultIsRetriedAfterItsBackoff() {
        var machine = ReplayMachine(configuration: Self.configuration, saved: ReplayCheckpoint(), seed: 7)
        _ = machine.start(now: 0)
        let identify = Self.record(0, .identify, user: "u1")
        #expect(machine.handle(.read([identify], atEnd: true), now: 0) == [Self.send(1, .identify, [identify])])
        var random = SeededGenerator(seed: 7)
        let delay = Self.configuration.retry.delay(afterAttempt: 1, retryAfter: nil, random: random.unit())
        #expect(machine.handle(.answered(1, Self.answer(503)), now: 0.1) == [.wake(at: 0.1 + delay)])
        #expect(machine.tally.lastProblem == "HTTP 503" && machine.inFlight == 0)
        #expect(machine.handle(.tick, now: 0.1 + delay / 2) == [.wake(at: 0.1 + delay)], "not due yet")
        #expect(machine.handle(.tick, now: 0.1 + delay) == [Self.send(2, .identify, [identify])])
        #expect(machine.tally.retries == 1 && machine.tally.requests == 1)
        #expect(machine.handle(.answered(2, Self.answer(200)), now: 0.2 + delay)
                == [.saveCheckpoint(Self.checkpoint(watermark: 1, acknowledged: 1)), .finish(.delivered)])
    }

    /// A refused key drains: nothing new starts, the attempt still on the wire is
    /// answered and saved, and the replay ends with exit 1, the refused record unsent.
    @Test func aRefusedKeyDrainsWhatIsInFlight() {
        var machine = ReplayMachine(configuration: Self.configuration, saved: ReplayCheckpoint(), seed: 1)
        _ = machine.start(now: 0)
        let first = Self.record(0, .identify, user: "u1")
        let second = Self.record(1, .identify, user: "u2")
        let third = Self.record(2, .identify, user: "u3")
        #expect(machine.handle(.read([first, second, third], atEnd: true), now: 0)
                == [Self.send(1, .identify, [first]), Self.send(2, .identify, [second]), Self.send(3, .identify, [third])])
        #expect(machine.handle(.answered(1, Self.answer(401)), now: 0.01) == [])
        guard case .draining(.stopped(let reason, 1)) = machine.state else {
            Issue.record("not draining: \(machine.state)")
            return
        }
        #expect(reason.hasPrefix("the API key was refused (401)"))
        #expect(machine.handle(.answered(2, Self.answer(200)), now: 0.02) == [.wake(at: 0.02 + 0.2)])
        #expect(machine.handle(.answered(3, Self.answer(200)), now: 0.03)
                == [.saveCheckpoint(Self.checkpoint(watermark: 0, done: [1, 2], acknowledged: 2)),
                    .finish(.stopped(reason: reason, exitStatus: 1))])
    }

    /// Ctrl-C: no new attempt starts, those in flight are answered, the end is
    /// `interrupted`.
    @Test func anInterruptDrainsThenFinishes() {
        var machine = ReplayMachine(configuration: Self.configuration, saved: ReplayCheckpoint(), seed: 1)
        _ = machine.start(now: 0)
        let identify = Self.record(0, .identify, user: "u1")
        let track = Self.record(1, .track, user: "u1")
        #expect(machine.handle(.read([identify, track], atEnd: true), now: 0) == [Self.send(1, .identify, [identify])])
        #expect(machine.handle(.interrupted, now: 0.01) == [])
        #expect(machine.state == .draining(.interrupted))
        #expect(machine.handle(.answered(1, Self.answer(200)), now: 0.02)
                == [.saveCheckpoint(Self.checkpoint(watermark: 1, acknowledged: 1)), .finish(.interrupted)],
                "the track is not sent")
    }

    /// A rejected identify: its line goes to the rejected spool, its user's track
    /// follows without a request, and the checkpoint vouches for both lines.
    @Test func aRejectedIdentifyRejectsItsTracksWithoutARequest() {
        var machine = ReplayMachine(configuration: Self.configuration, saved: ReplayCheckpoint(), seed: 1)
        _ = machine.start(now: 0)
        let identify = Self.record(0, .identify, user: "u1")
        let track = Self.record(1, .track, user: "u1")
        #expect(machine.handle(.read([identify, track], atEnd: true), now: 0) == [Self.send(1, .identify, [identify])])
        let identifyLine = Array(#"""
            {"reason":"rejected_by_nudge","status":422,"response":"bad \"id\"","attempts":1,"kind":"identify","message_id":"m0","accepted":{"commit":1,"line":1,"sequence":0},"body":{"ext_id":"u1","n":0}}

            """#.utf8)
        let trackLine = Array(#"""
            {"reason":"identify_rejected","status":null,"response":"","attempts":0,"kind":"track","message_id":"m1","accepted":{"commit":1,"line":2,"sequence":1},"body":{"ext_id":"u1","n":1}}

            """#.utf8)
        #expect(machine.handle(.answered(1, Self.answer(422, body: #"bad "id""#)), now: 0.01)
                == [.writeRejected(identifyLine), .writeRejected(trackLine),
                    .saveCheckpoint(Self.checkpoint(watermark: 2, rejected: 2, rejectedBytes: identifyLine.count + trackLine.count,
                                                    rejectedUsers: ["u1"])),
                    .finish(.delivered)])
    }

    /// A 413 to a batch: the batch goes back and leaves in halves, in order.
    @Test func payloadTooLargeSplitsTheBatch() {
        var configuration = Self.configuration
        configuration.limits.batchCount = 4
        var machine = ReplayMachine(configuration: configuration, saved: ReplayCheckpoint(), seed: 1)
        _ = machine.start(now: 0)
        let identify = Self.record(0, .identify, user: "u1")
        let tracks = (1...4).map { Self.record($0, .track, user: "u1") }
        _ = machine.handle(.read([identify] + tracks, atEnd: true), now: 0)
        _ = machine.handle(.answered(1, Self.answer(200)), now: 0.01)
        #expect(machine.handle(.answered(2, Self.answer(413)), now: 0.02)
                == [Self.send(3, .track, Array(tracks[0..<2])), .wake(at: 0.01 + 0.2)])
        #expect(machine.tally.splits == 1)
        #expect(machine.handle(.answered(3, Self.answer(200)), now: 0.03)
                == [Self.send(4, .track, Array(tracks[2..<4])), .wake(at: 0.01 + 0.2)])
    }
}
