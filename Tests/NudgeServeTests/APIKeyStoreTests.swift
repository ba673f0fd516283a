import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeIngest
@testable import NudgeServe
@testable import NudgeSpool

#if HTTP
/// `serve`'s API keys: made with their kind's prefix, kept only as SHA-256 in the spool,
/// read back as written, found by their secret while active, revoked for good.
@Suite struct APIKeyStoreTests {
    /// A spool with one commit (two identifies), as `run` makes it.
    static func spool(in dir: URL) throws -> String {
        let input = dir.appendingPathComponent("day.ndjson")
        try Data((#"{"type":"identify","userId":"u1"}"# + "\n" + #"{"type":"identify","userId":"u2"}"# + "\n").utf8)
            .write(to: input)
        var options = RunOptions()
        options.spool = dir.appendingPathComponent("spool").path
        _ = try IngestRun(options: options).run([InputFile(path: input.path)])
        return options.spool
    }

    @Test func aKeyIsFoundByItsSecretUntilRevoked() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.spool(in: dir)
            var store = try APIKeyStore(spool: spool)
            #expect(store.keys.isEmpty)
            let (live, liveSecret) = try store.create(kind: .live, name: "dashboard")
            let (test, testSecret) = try store.create(kind: .test, name: "ci")
            #expect(liveSecret.hasPrefix("sk_live_") && testSecret.hasPrefix("sk_test_"))
            #expect(liveSecret.count == "sk_live_".count + 40)
            #expect(live.id != test.id && live.id.hasPrefix("key_"))
            #expect(store.key(forSecret: liveSecret) == live && store.key(forSecret: testSecret) == test)
            #expect(store.key(forSecret: liveSecret + "x") == nil && store.key(forSecret: "") == nil)

            // The file holds digests, never a secret, and reads back as written.
            let file = try String(contentsOfFile: spool + "/serve/keys.ndjson", encoding: .utf8)
            #expect(!file.contains(liveSecret) && !file.contains(testSecret))
            #expect(file.contains(live.sha256) && live.sha256.count == 64)
            #expect(try APIKeyStore(spool: spool).keys == store.keys)

            let revoked = try store.revoke(live.id)
            #expect(revoked.revokedAt != nil && !revoked.isActive)
            let reread = try APIKeyStore(spool: spool)
            #expect(reread.key(forSecret: liveSecret) == nil && reread.key(forSecret: testSecret) == test)
            // Revoking again keeps the first time.
            #expect(try store.revoke(live.id).revokedAt == revoked.revokedAt)
        }
    }

    @Test func mistakesAreNamed() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.spool(in: dir)
            var store = try APIKeyStore(spool: spool)
            let unknown = #expect(throws: APIKeyError.self) { try store.revoke("key_000000") }
            #expect(unknown?.description.contains("key_000000") == true)

            // A folder that is not a spool gets no keys.
            var notASpool = try APIKeyStore(spool: dir.path)
            #expect(throws: APIKeyError.self) { try notASpool.create(kind: .live, name: "x") }
            #expect(!FileManager.default.fileExists(atPath: dir.path + "/serve/keys.ndjson"))

            // A damaged line is refused with its number, never skipped.
            _ = try store.create(kind: .live, name: "one")
            let path = spool + "/serve/keys.ndjson"
            try Data((try String(contentsOfFile: path, encoding: .utf8) + "{\"id\":\"key_1\"}\n").utf8)
                .write(to: URL(fileURLWithPath: path))
            let damaged = #expect(throws: APIKeyError.self) { try APIKeyStore(spool: spool) }
            #expect(damaged?.description.contains("line 2") == true, "\(String(describing: damaged))")
        }
    }
}
#endif
