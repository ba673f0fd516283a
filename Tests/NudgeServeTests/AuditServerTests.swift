import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeIngest
@testable import NudgeServe
@testable import NudgeSpool

#if HTTP
import Hummingbird
import HummingbirdTesting

/// `serve`'s routes as a client sees them, served by Hummingbird on loopback: the key
/// check (401 without a known, active key; 403 for a test key but on preview), the
/// route table (404, 405 with `Allow`), parameters checked (400), one JSON error shape,
/// and one log line a request that names the key by id, never its secret.
@Suite struct AuditServerTests {
    final class Log: @unchecked Sendable {
        // @unchecked Sendable: `lines` is touched only under `lock`.
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    struct Served {
        var status: Int
        var headers: HTTPFields
        var body: String
        /// `error.code` of a JSON error answer.
        var errorCode: String? {
            ((try? parseJSON(Array(body.utf8))) as? [String: Any]).flatMap { ($0["error"] as? [String: Any])?["code"] as? String }
        }
    }

    /// Where the server and its client run: not on the cooperative threads, which the
    /// suites of blocking tests beside this one may hold for longer than the client's
    /// 20 s read timeout (it failed so in full runs, two of five times).
    static let executor = DedicatedThreadExecutor(name: "serve-tests")

    /// Serves the spool's router on a loopback port and sends each request in turn.
    static func serve(_ spool: String, log: Log,
                      _ requests: [(method: HTTPRequest.Method, uri: String, secret: String?, body: String?)]) async throws -> [Served] {
        let server = AuditServer(spool: spool, log: { log.append($0) })
        let app = Application(router: server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await withTaskExecutorPreference(executor) { try await app.test(.live) { client in
            var answers: [Served] = []
            for request in requests {
                var headers = HTTPFields()
                if let secret = request.secret { headers[.authorization] = "Bearer \(secret)" }
                if request.body != nil { headers[.contentType] = "application/x-ndjson" }
                let response = try await client.execute(uri: request.uri, method: request.method, headers: headers,
                                                        body: request.body.map { ByteBuffer(string: $0) })
                answers.append(Served(status: Int(response.status.code), headers: response.headers,
                                      body: String(buffer: response.body)))
            }
            return answers
        } }
    }

    @Test func theKeyCheckAndTheRouteTableAnswerWithTheirStatus() async throws {
        try await withTemporaryDirectory { dir in
            let spool = try APIKeyStoreTests.spool(in: dir)
            var store = try APIKeyStore(spool: spool)
            let (live, liveSecret) = try store.create(kind: .live, name: "reader")
            let (_, testSecret) = try store.create(kind: .test, name: "ci")
            let (revoked, revokedSecret) = try store.create(kind: .live, name: "gone")
            _ = try store.revoke(revoked.id)
            let record = #"{"type":"identify","userId":"u9"}"# + "\n"
            let log = Log()
            let served = try await Self.serve(spool, log: log, [
                (.get, "/v1/report", nil, nil),
                (.get, "/v1/report", "sk_live_" + String(repeating: "x", count: 40), nil),
                (.get, "/v1/report", revokedSecret, nil),
                (.get, "/v1/report", testSecret, nil),
                (.get, "/v1/nothing", liveSecret, nil),
                (.post, "/v1/report", liveSecret, nil),
                (.get, "/v1/drops?reasons=not_identified", liveSecret, nil),
                (.get, "/v1/drops?reason=sunspots", liveSecret, nil),
                (.get, "/v1/report", liveSecret, nil),
                (.get, "/v1/drops?limit=1", liveSecret, nil),
                (.post, "/v1/preview", testSecret, record),
                (.get, "/ui/drops", nil, nil),
            ])
            #expect(served.map(\.status) == [401, 401, 401, 403, 404, 405, 400, 400, 200, 200, 200, 401])
            #expect(served.map(\.errorCode) == ["unauthorized", "unauthorized", "unauthorized", "forbidden", "not_found",
                                                "method_not_allowed", "bad_parameter", "bad_parameter", nil, nil, nil, nil])
            #expect(served[0].headers[.wwwAuthenticate] == "Bearer")
            #expect(served[5].headers[.allow] == "GET")
            #expect(served[6].body.contains("did you mean reason?"))
            // A browser without a key is shown the sign-in page, not JSON.
            #expect(served[11].headers[.contentType]?.hasPrefix("text/html") == true)
            let report = try #require(try parseJSON(Array(served[8].body.utf8)) as? [String: Any])
            #expect(report["records"] as? Int == 2)
            #expect(served[10].body.contains("u9"))

            // One line a request, with the key's id where one was checked; never a secret.
            let lines = log.all
            #expect(lines.count == served.count)
            #expect(lines[8].contains("GET /v1/report 200") && lines[8].hasSuffix(live.id))
            #expect(lines[4].contains("GET /v1/nothing 404"))
            #expect(!lines.contains { $0.contains(liveSecret) || $0.contains(testSecret) || $0.contains(revokedSecret) })
        }
    }

    @Test func loopbackHostsAndAddresses() {
        #expect(AuditServer.isLoopback("127.0.0.1") && AuditServer.isLoopback("127.3.2.1"))
        #expect(AuditServer.isLoopback("localhost") && AuditServer.isLoopback("::1"))
        #expect(!AuditServer.isLoopback("0.0.0.0") && !AuditServer.isLoopback("::") && !AuditServer.isLoopback("10.0.0.1"))
        #expect(AuditServer.address(host: "127.0.0.1", port: 8080) == "127.0.0.1:8080")
        #expect(AuditServer.address(host: "::1", port: 8080) == "[::1]:8080")
    }

    /// RFC 9110: the scheme's name in any case, one token after it.
    @Test func bearerTokens() {
        #expect(KeyCheck.bearerToken("Bearer sk_live_abc") == "sk_live_abc")
        #expect(KeyCheck.bearerToken("bearer  sk_live_abc ") == "sk_live_abc")
        #expect(KeyCheck.bearerToken("BEARER sk_test_1") == "sk_test_1")
        #expect(KeyCheck.bearerToken("Basic dXNlcjpwYXNz") == nil)
        #expect(KeyCheck.bearerToken("Bearer") == nil && KeyCheck.bearerToken("Bearer ") == nil)
    }
}
#endif
