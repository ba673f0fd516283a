import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeIngest
@testable import NudgeReplayHTTP

#if HTTP
/// replay's transport against the fake Nudge on loopback: what it sends arrives as
/// formed, every answer comes back with its status, `Retry-After` and body, and each
/// way of getting no answer is told apart (a timeout, a closed connection, an endpoint
/// that cannot be reached), as the ``ReplayMachine`` needs them.
@Suite(.serialized) struct HTTPClientTransportTests {
    static func identify(_ server: FakeNudge, key: String = FakeNudge.apiKey, userID: String = "u1") -> OutgoingRequest {
        OutgoingRequest(method: "PUT", url: server.endpoint + "/identify",
                        headers: [("apikey", key), ("p", "17"), ("Content-Type", "application/json"),
                                  ("Idempotency-Key", "idem-\(userID)")],
                        body: Array(#"{"ext_id":"\#(userID)","traits":{"plan":"pro"}}"#.utf8), records: 1)
    }

    /// Sends `requests` one after the other over one transport, shut down however it ends.
    static func send(_ requests: [OutgoingRequest], timeout: Double = 10) async -> [HTTPAnswer] {
        let transport = HTTPClientTransport(timeoutSeconds: timeout, connections: 2)
        var answers: [HTTPAnswer] = []
        for request in requests { answers.append(await transport.send(request)) }
        await transport.shutdown()
        return answers
    }

    @Test func whatItSendsArrivesAsFormedAndTheAnswerComesBack() async throws {
        try await withTemporaryDirectory { dir in
            let server = try FakeNudge(in: dir)
            let request = Self.identify(server)
            let batch = OutgoingRequest(method: "POST", url: server.endpoint + "/events/batch",
                                        headers: [("apikey", FakeNudge.apiKey), ("p", "17"), ("Content-Type", "application/json")],
                                        body: Array(#"[{"ext_id":"u1","name":"paid"},{"ext_id":"u1","name":"seen"}]"#.utf8), records: 2)
            let answers = await Self.send([request, batch])
            #expect(answers.map(\.status) == [200, 200])
            #expect(answers.allSatisfy { $0.failure == nil && !$0.timedOut && !$0.unreachable })
            #expect(answers.map { String(decoding: $0.body, as: UTF8.self) } == [#"{"ok":true}"#, #"{"ok":true}"#])

            let received = try server.requests()
            #expect(received.map { $0["method"] as? String } == ["PUT", "POST"])
            #expect(received.map { $0["path"] as? String } == ["/identify", "/events/batch"])
            let headers = try #require(received.first?["headers"] as? [String: Any])
            #expect(headers["apikey"] as? String == FakeNudge.apiKey)
            #expect(headers["idempotency-key"] as? String == "idem-u1")
            #expect(received.first?["body"] as? [String: Any] != nil)
            #expect((received.last?["body"] as? [Any])?.count == 2)
        }
    }

    /// A refusal is an answer: its status, `Retry-After` and body come back for the
    /// machine to decide on, never as a failure.
    @Test func refusalsComeBackWithTheirStatusAndRetryAfter() async throws {
        try await withTemporaryDirectory { dir in
            let server = try FakeNudge(in: dir, faults: #"{"status": {"1": [429, "7"], "2": [503, null]}}"#)
            let answers = await Self.send([Self.identify(server), Self.identify(server), Self.identify(server, key: "wrong"),
                                           Self.identify(server)])
            #expect(answers.map(\.status) == [429, 503, 401, 200])
            #expect(answers.map(\.retryAfter) == ["7", nil, nil, nil])
            #expect(answers.allSatisfy { $0.failure == nil && !$0.timedOut && !$0.unreachable })
        }
    }

    /// No answer, three ways: the server closes the connection (a fault to retry), no
    /// answer within the timeout (congestion), and nothing listening (unreachable: a
    /// wrong `--endpoint` before it has ever answered).
    @Test func noAnswerIsToldApart() async throws {
        try await withTemporaryDirectory { dir in
            let server = try FakeNudge(in: dir, faults: #"{"drop": [1], "slow": {"2": 30}}"#)
            let answers = await Self.send([Self.identify(server), Self.identify(server)], timeout: 1)
            #expect(answers[0].status == nil && answers[0].failure == "connection closed by the server")
            #expect(!answers[0].timedOut && !answers[0].unreachable)
            #expect(answers[1].status == nil && answers[1].failure == "timed out")
            #expect(answers[1].timedOut && !answers[1].unreachable)

            // The same port with nothing listening on it any more.
            server.stop()
            let refused = await Self.send([Self.identify(server)])
            #expect(refused[0].status == nil && refused[0].failure == "connection refused")
            #expect(refused[0].unreachable && !refused[0].timedOut)
        }
    }

    /// A connection cut in the middle of the request body is a fault worth retrying, not
    /// an unreachable endpoint.
    @Test func aConnectionCutMidRequestIsAFaultToRetry() async throws {
        try await withTemporaryDirectory { dir in
            let server = try FakeNudge(in: dir, faults: #"{"cut_every": 1}"#)
            var request = Self.identify(server)
            request.body = Array(#"{"ext_id":"u1","traits":{"pad":"\#(String(repeating: "x", count: 200_000))"}}"#.utf8)
            let answer = try #require(await Self.send([request]).first)
            #expect(answer.status == nil && answer.failure != nil)
            #expect(!answer.unreachable && !answer.timedOut)
            #expect((try server.requests()).first?["cut"] as? Bool == true)
        }
    }

    /// A destination names its key by a fingerprint: `sha256:` and the first 32 hex
    /// digits of the key's SHA-256 (FIPS 180-2's "abc" vector), never the key; no key,
    /// no fingerprint.
    @Test func aDestinationNamesItsKeyByFingerprint() {
        let destination = ReplayDestination(endpoint: "https://api.example", apiKey: "abc")
        #expect(destination.keyFingerprint == "sha256:ba7816bf8f01cfea414140de5dae2223")
        #expect(destination.endpoint == "https://api.example")
        #expect(ReplayDestination(endpoint: "https://api.example", apiKey: "").keyFingerprint == "")
        #expect(ReplayDestination(endpoint: "e", apiKey: "abd").keyFingerprint != destination.keyFingerprint)
    }
}
#endif
