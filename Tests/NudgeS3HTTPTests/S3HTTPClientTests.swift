import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeS3
@testable import NudgeS3HTTP
@testable import NudgeSystem
#if HTTP
import NIOCore
#endif

#if HTTP
/// The S3 client against a real S3-compatible server on loopback (moto), which checks
/// every request's Signature V4 against the key it issued.
@Suite(.serialized, .enabled(if: MotoServer.isInstalledOrRequired, "needs moto's server: pip install 'moto[server]'"))
struct S3HTTPClientTests {
    /// Runs `body` with a client of `moto`, signing with its key (or another secret), and
    /// shuts the client down however `body` ends.
    static func withClient<R>(_ moto: MotoServer, secret: String? = nil, endpoint: String? = nil,
                              _ body: (S3HTTPClient) async throws -> R) async throws -> R {
        let environment = ["AWS_ACCESS_KEY_ID": moto.accessKeyID, "AWS_SECRET_ACCESS_KEY": secret ?? moto.secretAccessKey,
                           "AWS_ENDPOINT_URL_S3": endpoint ?? moto.endpoint, "HOME": "/nonexistent"]
        let configuration = try AWSConfiguration.resolve(environment: { environment[$0] },
                                                         readFile: { _ throws(AWSConfigurationError) in nil })
        let client = S3HTTPClient(configuration: configuration, timeoutSeconds: 10)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    static func read(_ client: S3HTTPClient, _ object: S3ObjectListing.Object, in bucket: String) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        _ = try await client.read(object, in: bucket) { bytes += $0.readableBytesView }
        return bytes
    }

    /// Every page of a listing, in bytewise key order, each object read whole and equal
    /// to what was put; a full key names one object, a folder without its `/` the ones below.
    @Test func listsEveryPageInKeyOrderAndReadsEachObject() async throws {
        var objects: [String: [UInt8]] = [:]
        let day1 = "segment-logs/src/2025-05-14/", day2 = "segment-logs/src/2025-05-15/"
        for (index, key) in ["\(day1)a.gz", "\(day1)b c+é.gz", "\(day1)Z~.gz", "\(day2)a.gz", "\(day2)empty.gz",
                             "other/x.gz"].enumerated() {
            objects[key] = key.hasSuffix("empty.gz") ? [] : Array(repeating: UInt8(index), count: 1000 * index + 1)
                + Array(key.utf8)
        }
        let moto = try MotoServer(bucket: "archive", objects: objects)
        try await Self.withClient(moto) { client in
        let listed = try await client.objects(at: S3Location("s3://archive/segment-logs/")!, pageSize: 2)
        let expectedKeys = objects.keys.filter { $0.hasPrefix("segment-logs/") }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(listed.map(\.key) == expectedKeys)
        #expect(listed.map(\.key).first == "\(day1)Z~.gz", "bytewise: Z before a")
        for object in listed {
            #expect(object.size == objects[object.key]!.count && object.etag.hasPrefix("\""))
            #expect(try await Self.read(client, object, in: "archive") == objects[object.key]!, "\(object.key)")
        }
        let one = try await client.objects(at: S3Location("s3://archive/\(day1)b c+é.gz")!)
        #expect(one.map(\.key) == ["\(day1)b c+é.gz"])
        let folder = try await client.objects(at: S3Location("s3://archive/segment-logs/src/2025-05-15")!)
        #expect(folder.map(\.key) == ["\(day2)a.gz", "\(day2)empty.gz"])
        }
    }

    /// A wrong secret is refused by the server's signature check, and the message names
    /// the access key id and the bucket, never the secret; a missing bucket or key says so.
    @Test func refusalsAndMissingThingsAreSaidPlainly() async throws {
        let moto = try MotoServer(bucket: "archive", objects: ["k.gz": Array("hello".utf8)])
        let refused = try await Self.withClient(moto, secret: "not-the-secret-at-all") { wrong in
            await #expect(throws: S3Error.self) { _ = try await wrong.objects(at: S3Location("s3://archive/")!) }
        }
        let message = refused.map { "\($0)" } ?? ""
        #expect(message.contains("SignatureDoesNotMatch") && message.contains("access key \(moto.accessKeyID)")
                && message.contains("bucket archive"), "\(message)")
        #expect(!message.contains("not-the-secret") && !message.contains(moto.secretAccessKey))

        try await Self.withClient(moto) { client in
        let noBucket = await #expect(throws: S3Error.self) { _ = try await client.objects(at: S3Location("s3://nothere/")!) }
        #expect(noBucket.map { "\($0)" } == "no bucket nothere (s3://nothere/); check the name")
        let noKey = await #expect(throws: S3Error.self) { _ = try await client.objects(at: S3Location("s3://archive/none.gz")!) }
        #expect(noKey.map { "\($0)" }?.hasPrefix("no object s3://archive/none.gz") == true)
        // An object deleted after the listing.
        let gone = S3ObjectListing.Object(key: "gone.gz", size: 5, etag: "")
        let deleted = await #expect(throws: S3Error.self) { _ = try await Self.read(client, gone, in: "archive") }
        #expect(deleted.map { "\($0)" }?.hasPrefix("no object s3://archive/gone.gz") == true)
        // A listing's ETag the object no longer has: refused, not spliced.
        let stale = S3ObjectListing.Object(key: "k.gz", size: 5, etag: "\"0123456789abcdef0123456789abcdef\"")
        let changed = await #expect(throws: S3Error.self) { _ = try await Self.read(client, stale, in: "archive") }
        #expect(changed.map { "\($0)" }?.contains("changed while it was read") == true)
        }
    }

    /// Through a proxy that drops the connection a third of the way into the object, the
    /// read resumes with a ranged GET under the ETag; through one that answers 503
    /// SlowDown twice, it retries. Either way the bytes are the object's, once each. A
    /// listing is retried alike.
    @Test func aCutConnectionResumesWithARangeAndSlowDownIsRetried() async throws {
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        let moto = try MotoServer(bucket: "archive", objects: ["big.gz": bytes])
        let object = try await Self.withClient(moto) { try await $0.objects(at: S3Location("s3://archive/big.gz")!) }[0]
        var policy = S3RetryPolicy()
        policy.baseDelaySeconds = 0.01
        for (mode, attempts) in [("cut:100000", 2), ("slowdown:2", 3)] {
            let proxy = try LoopbackProxy(upstreamPort: moto.port, mode: mode)
            let (read, received) = try await Self.withClient(moto, endpoint: proxy.endpoint) { client in
                var received: [UInt8] = []
                let read = try await client.read(object, in: "archive", policy: policy) { received += $0.readableBytesView }
                return (read, received)
            }
            #expect(received.count == bytes.count && received == bytes, "\(mode)")
            #expect(read.attempts == attempts, "\(mode)")
        }
        // A listing page goes by the same policy: two 503s are retried, and a server that
        // keeps answering 503 stops it once the attempts are spent.
        let slow = try LoopbackProxy(upstreamPort: moto.port, mode: "slowdown:2")
        let listed = try await Self.withClient(moto, endpoint: slow.endpoint) {
            try await $0.objects(at: S3Location("s3://archive/")!, policy: policy)
        }
        #expect(listed == [object])
        let stuck = try LoopbackProxy(upstreamPort: moto.port, mode: "slowdown:1000")
        policy.maxAttempts = 3
        let spent = try await Self.withClient(moto, endpoint: stuck.endpoint) { client in
            await #expect(throws: S3Error.self) { _ = try await client.objects(at: S3Location("s3://archive/")!, policy: policy) }
        }
        #expect(spent.map { "\($0)" } == "s3://archive/: gave up after 3 failed attempts in a row, the last HTTP 503 SlowDown")
    }

    /// `run`'s reading thread takes an object's bytes from ``S3InputSource``'s stream:
    /// while it reads nothing, the download stops once 1 MiB waits for it (moto would
    /// send the 24 MB object in a fraction of a second), so memory stays bounded; read on,
    /// the bytes are the object's. "Stops" is seen from outside, not waited for: the
    /// client no longer reads its socket, so what moto sends piles up unread in the
    /// kernel; a client that read on would never leave it there.
    @Test func aReaderThatFallsBehindHoldsTheDownloadBack() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let bytes = (0..<24_000_000).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        let moto = try MotoServer(bucket: "archive", objects: ["big.gz": bytes, "other.gz": Array(bytes.prefix(1_000))])
        let environment = ["AWS_ACCESS_KEY_ID": moto.accessKeyID, "AWS_SECRET_ACCESS_KEY": moto.secretAccessKey,
                           "AWS_ENDPOINT_URL_S3": moto.endpoint, "HOME": "/nonexistent"]
        let configuration = try AWSConfiguration.resolve(environment: { environment[$0] },
                                                         readFile: { _ throws(AWSConfigurationError) in nil })
        let source = S3InputSource(configuration: configuration, bufferedBytes: 1 << 20)
        defer { source.shutdown() }
        let listing = try source.list("s3://archive/")
        #expect(listing.objects.map(\.url) == ["s3://archive/big.gz", "s3://archive/other.gz"])
        #expect(listing.relativePaths == ["big.gz", "other.gz"])

        let stream = source.open(listing.objects[0])
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        var received: [UInt8] = []
        let first = try stream.read(into: buffer)
        received += buffer[..<first]
        // What the client has taken from its socket, seen by the kernel: the stream's own
        // count lags by the piece it is holding back.
        if TCPConnection.bytesTaken(byClientsOfPort: moto.port) == nil {
            FileHandle.standardError.write(Data("S3HTTPClientTests: `ss` (iproute2) is missing; the download's bound is not checked\n".utf8))
        } else {
            var taken = -1
            var unchangedSince = Date()
            try waitUntil("the download to wait for the reader (\(taken) bytes taken; \(TCPConnection.described(port: moto.port)))") {
                // Held back: 64 KiB unread on the client's socket, and nothing more taken
                // from it for a whole second. One look apart (10 ms) is not enough: on a
                // loaded machine the client's event loop can miss that long and seem to stop.
                let now = TCPConnection.bytesTaken(byClientsOfPort: moto.port) ?? 0
                if now != taken { unchangedSince = Date() }
                taken = now
                return Date().timeIntervalSince(unchangedSince) >= 1
                    && TCPConnection.clients(ofPort: moto.port).contains { $0.unreadBytes >= 1 << 16 }
            }
            #expect(taken >= 1 << 20, "\(taken) bytes taken: the stream's buffer never filled")
            #expect(taken <= (1 << 20) + (1 << 19), "\(taken) bytes taken while the reader waited")
        }
        while true {
            let count = try stream.read(into: buffer)
            if count == 0 { break }
            received += buffer[..<count]
        }
        stream.close()
        #expect(received.count == bytes.count && received == bytes)
    }
}
#endif
