import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// `s3://` inputs as the run sees them, through a ``RemoteInputSource``: here a bucket in
/// memory that hands each object out in small random pieces and can fail partway, so
/// that the ledger's rules for objects, the walk's rules for listings and a store that
/// fails mid-object are checked in every build (the sanitizers' too). The same run
/// against a real S3 server is `S3RunTests`.
@Suite struct RemoteInputTests {
    /// A bucket in memory, listed and read as S3 would be.
    final class MemoryBucket: RemoteInputSource, @unchecked Sendable {
        // @unchecked Sendable: every mutable property is used under `lock`.
        private let lock = NSLock()
        private var objects: [String: (bytes: [UInt8], etag: String)] = [:]
        private var failures: [String: Int] = [:]
        private var versions = 0
        /// URLs opened, in order: what was downloaded.
        private(set) var opened: [String] = []

        func put(_ url: String, _ bytes: [UInt8]) {
            lock.withLock {
                versions += 1
                objects[url] = (bytes, "\"etag-\(versions)-\(bytes.count)\"")
            }
        }

        /// The object's copy under another URL: the same bytes and ETag, as S3's
        /// CopyObject gives.
        func copy(_ url: String, to other: String) {
            lock.withLock { objects[other] = objects[url] }
        }

        /// Reading `url` fails once `after` bytes have been handed out (nil: never).
        func failReading(_ url: String, after: Int?) {
            lock.withLock { failures[url] = after }
        }

        var requestCounts: RemoteRequestCounts { RemoteRequestCounts(requests: lock.withLock { opened.count }) }

        func names(_ argument: String) -> Bool { argument.hasPrefix("s3://") }

        func list(_ location: String) throws(RemoteReadError) -> RemoteListing {
            let snapshot = lock.withLock { objects }
            if let one = snapshot[location] {
                return RemoteListing(objects: [RemoteObject(url: location, size: one.bytes.count, etag: one.etag)],
                                     relativePaths: [nil])
            }
            let folder = location.hasSuffix("/") ? location : location + "/"
            let below = snapshot.keys.filter { $0.hasPrefix(folder) }
                .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            guard !below.isEmpty else { throw RemoteReadError(message: "no object \(location)") }
            return RemoteListing(
                objects: below.map { RemoteObject(url: $0, size: snapshot[$0]!.bytes.count, etag: snapshot[$0]!.etag) },
                relativePaths: below.map { String($0.dropFirst(folder.count)) })
        }

        func open(_ object: RemoteObject) -> any RemoteByteStream {
            lock.withLock {
                opened.append(object.url)
                return Stream(bytes: objects[object.url]?.bytes ?? [], failAfter: failures[object.url] ?? nil,
                              url: object.url)
            }
        }

        /// Pieces of 1 to 5,000 bytes, as a network hands them out.
        final class Stream: RemoteByteStream {
            let bytes: [UInt8]
            let failAfter: Int?
            let url: String
            var position = 0

            init(bytes: [UInt8], failAfter: Int?, url: String) {
                (self.bytes, self.failAfter, self.url) = (bytes, failAfter, url)
            }

            func read(into buffer: UnsafeMutableRawBufferPointer) throws(RemoteReadError) -> Int {
                if let failAfter, position >= failAfter {
                    throw RemoteReadError(message: "\(url): gave up after 3 failed attempts in a row, the last HTTP 503 SlowDown")
                }
                var count = min(buffer.count, bytes.count - position, Int.random(in: 1...5_000))
                if let failAfter { count = min(count, failAfter - position) }
                bytes[position..<position + count].withUnsafeBytes { buffer.copyMemory(from: $0) }
                position += count
                return count
            }

            func close() {}
        }
    }

    /// Five parts of one export, users recurring across them; gzip in random members.
    static func parts(seed: UInt64) throws -> [[UInt8]] {
        var random = RandomJSON(seed: seed, hugeNumbers: false)
        return try (0..<5).map { _ in try MixedExport.gzipMembers(MixedExport.random(&random).stream, &random) }
    }

    static func options(spool: String, jobs: Int) -> RunOptions {
        var options = RunOptions()
        options.spool = spool
        options.maxLineBytes = MixedExport.maxLineBytes
        options.jobs = jobs
        options.readChunkBytes = 7_000
        return options
    }

    /// A spool's records, `source.file` rewritten from `prefix` to `…`.
    static func records(_ spool: String, _ folder: String, prefix: String) throws -> [String] {
        try spoolRecordLines(URL(fileURLWithPath: spool), folder, prefix: prefix)
    }

    @Test func aRunOverTheBucketDecidesAsOverTheSameFilesAndASecondHasNothingToDo() throws {
        let parts = try Self.parts(seed: 17)
        try withTemporaryDirectory { dir in
            let folder = dir.appendingPathComponent("segment-logs/src/1741564800000")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let bucket = MemoryBucket()
            for (index, part) in parts.enumerated() {
                try Data(part).write(to: folder.appendingPathComponent("part-\(index).gz"))
                bucket.put("s3://archive/segment-logs/src/1741564800000/part-\(index).gz", part)
            }
            let local = try IngestRun(options: Self.options(spool: dir.appendingPathComponent("local").path, jobs: 1))
                .run(try InputDiscovery.inputs(for: [dir.appendingPathComponent("segment-logs").path]).inputs)
            let discovery = try InputDiscovery.inputs(for: ["s3://archive/segment-logs/"], remote: bucket)
            #expect(discovery.inputs.map(\.path) == (0..<5).map { "s3://archive/segment-logs/src/1741564800000/part-\($0).gz" })
            let s3Spool = dir.appendingPathComponent("s3").path
            let remote = try IngestRun(options: Self.options(spool: s3Spool, jobs: 3), remote: bucket).run(discovery.inputs)
            #expect(remote.counts == local.counts && remote.counts.records > 300)
            #expect(remote.inputs.map(\.bytes) == parts.map(\.count))
            for folder in ["accepted", "dropped"] {
                let fromFiles = try Self.records(dir.appendingPathComponent("local").path, folder,
                                                 prefix: dir.appendingPathComponent("segment-logs").path)
                #expect(try Self.records(s3Spool, folder, prefix: "s3://archive/segment-logs") == fromFiles, "\(folder)")
            }
            // The ledger knows each object by URL, size and ETag, and its content.
            let ledger = try Ledger.committed(inSpool: s3Spool)
            let committed = ledger.entries.flatMap(\.inputs)
            #expect(committed.map(\.absolutePath) == discovery.inputs.map(\.path))
            #expect(committed.map(\.etag) == discovery.inputs.map { $0.remote?.etag })
            #expect(Set(committed.map(\.fingerprint)).count == 5)

            // A second run lists the same ETags: nothing to do, and nothing downloaded.
            let opens = bucket.opened.count
            let again = try IngestRun(options: Self.options(spool: s3Spool, jobs: 2), remote: bucket)
                .run(try InputDiscovery.inputs(for: ["s3://archive/segment-logs"], remote: bucket).inputs)
            #expect(again.inputs.isEmpty && again.skipped.count == 5 && bucket.opened.count == opens)
            #expect(again.skipped.allSatisfy { if case .committed = $0.reason { true } else { false } })
        }
    }

    @Test func aChangedObjectIsRefusedUnlessReprocessed() throws {
        let parts = try Self.parts(seed: 18)
        try withTemporaryDirectory { dir in
            let bucket = MemoryBucket()
            for (index, part) in parts.prefix(2).enumerated() { bucket.put("s3://b/logs/\(index).gz", part) }
            let spool = dir.appendingPathComponent("spool").path
            let inputs = { try InputDiscovery.inputs(for: ["s3://b/logs/"], remote: bucket).inputs }
            _ = try IngestRun(options: Self.options(spool: spool, jobs: 2), remote: bucket).run(try inputs())

            // Same URL, same size, other ETag: changed, though it was not read.
            bucket.put("s3://b/logs/1.gz", parts[1])
            let opens = bucket.opened.count
            #expect {
                _ = try IngestRun(options: Self.options(spool: spool, jobs: 2), remote: bucket).run(try inputs())
            } throws: { error in
                guard case SpoolError.changedInputs(let changed) = error else { return false }
                return changed.map(\.path) == ["s3://b/logs/1.gz"] && changed[0].change.contains("ETag")
            }
            #expect(bucket.opened.count == opens)
            var options = Self.options(spool: spool, jobs: 2)
            options.reprocessChanged = true
            let reprocessed = try IngestRun(options: options, remote: bucket).run(try inputs())
            #expect(reprocessed.inputs.map(\.path) == ["s3://b/logs/1.gz"])
            // Its records were all seen: those with a messageId are duplicates now.
            #expect(reprocessed.counts.accepted < reprocessed.counts.records)
            #expect(try Ledger.committed(inSpool: spool).entries.last?.inputs.first?.etag
                    == inputs().last?.remote?.etag)
        }
    }

    @Test func committedContentIsSkippedWhereverItLies() throws {
        let parts = try Self.parts(seed: 19)
        try withTemporaryDirectory { dir in
            let spool = dir.appendingPathComponent("spool").path
            let file = dir.appendingPathComponent("part.gz")
            try Data(parts[0]).write(to: file)
            _ = try IngestRun(options: Self.options(spool: spool, jobs: 1)).run([InputFile(path: file.path)])

            let bucket = MemoryBucket()
            bucket.put("s3://b/a/part.gz", parts[0])          // the file, uploaded: read to compare
            bucket.put("s3://b/a/other.gz", parts[1])
            bucket.copy("s3://b/a/other.gz", to: "s3://b/b/other-copy.gz")  // a copy: same ETag
            let summary = try IngestRun(options: Self.options(spool: spool, jobs: 2), remote: bucket)
                .run(try InputDiscovery.inputs(for: ["s3://b/"], remote: bucket).inputs)
            #expect(summary.inputs.map(\.path) == ["s3://b/a/other.gz"])
            let reasons = summary.skipped.map { "\($0.path) \($0.reason)" }
            #expect(reasons.contains { $0.hasPrefix("s3://b/a/part.gz committed(commit: 1") })
            #expect(reasons.contains { $0.hasPrefix("s3://b/b/other-copy.gz sameContent") })
            // The copy was known by its size and ETag; only the upload of the file, whose
            // size a committed input has, was fetched to compare.
            #expect(bucket.opened.filter { $0 == "s3://b/b/other-copy.gz" }.isEmpty)
            #expect(bucket.opened.filter { $0 == "s3://b/a/part.gz" }.count == 1)

            // And the other way: the object's content, downloaded as a file, is committed.
            let downloaded = dir.appendingPathComponent("other.gz")
            try Data(parts[1]).write(to: downloaded)
            let local = try IngestRun(options: Self.options(spool: spool, jobs: 1)).run([InputFile(path: downloaded.path)])
            #expect(local.inputs.isEmpty && local.skipped.count == 1)
        }
    }

    @Test func aStoreThatFailsStopsTheRunWithTheObjectUncommitted() throws {
        let parts = try Self.parts(seed: 20)
        try withTemporaryDirectory { dir in
            let bucket = MemoryBucket()
            for (index, part) in parts.enumerated() { bucket.put("s3://b/logs/\(index).gz", part) }
            let inputs = try InputDiscovery.inputs(for: ["s3://b/logs/"], remote: bucket).inputs

            let whole = dir.appendingPathComponent("whole").path
            _ = try IngestRun(options: Self.options(spool: whole, jobs: 2), remote: bucket).run(inputs)

            let spool = dir.appendingPathComponent("spool").path
            bucket.failReading("s3://b/logs/2.gz", after: parts[2].count / 2)
            let stopped = try IngestRun(options: Self.options(spool: spool, jobs: 3), remote: bucket).run(inputs)
            #expect(stopped.stopped?.contains("s3://b/logs/2.gz: gave up after 3 failed attempts in a row") == true)
            #expect(stopped.inputs.map(\.path) == ["s3://b/logs/0.gz", "s3://b/logs/1.gz"])
            #expect(stopped.exitStatus == 2 && stopped.faults == 0 && stopped.state == nil)
            #expect(stopped.json.contains("\"stopped\":\"s3://b/logs/2.gz: gave up"))
            // Nothing of the object is in either spool: no fault, no record.
            for folder in ["accepted", "dropped"] {
                #expect(try Self.records(spool, folder, prefix: "").allSatisfy { !$0.contains("s3://b/logs/2.gz") })
            }

            // Once the store answers, the same command continues: the spools are those
            // of one run that never failed.
            bucket.failReading("s3://b/logs/2.gz", after: nil)
            let continued = try IngestRun(options: Self.options(spool: spool, jobs: 3), remote: bucket).run(inputs)
            #expect(continued.inputs.map(\.path) == (2..<5).map { "s3://b/logs/\($0).gz" } && continued.stopped == nil)
            for folder in ["accepted", "dropped"] {
                #expect(try Self.records(spool, folder, prefix: "") == Self.records(whole, folder, prefix: ""), "\(folder)")
            }
        }
    }

    /// A run's progress counts the bytes of the listed total: the plan takes each
    /// object's size from the listing, downloading nothing, and the share done is of it.
    @Test func progressCountsAgainstTheListedSizes() throws {
        let parts = try Self.parts(seed: 21)
        try withTemporaryDirectory { dir in
            let bucket = MemoryBucket()
            for (index, part) in parts.prefix(3).enumerated() { bucket.put("s3://b/logs/\(index).gz", part) }
            let inputs = try InputDiscovery.inputs(for: ["s3://b/logs/"], remote: bucket).inputs
            let plan = try Spool(directory: dir.appendingPathComponent("spool").path)
                .plan(inputs, reprocessChanged: false, remote: bucket)
            #expect(plan.sizes == parts.prefix(3).map { Optional($0.count) })
            #expect(bucket.opened.isEmpty)
            let total = parts.prefix(3).reduce(0) { $0 + $1.count }
            let progress = RunProgress(inputIndex: 1, inputCount: 3, path: inputs[1].path, inputBytesRead: parts[1].count / 2,
                                       inputBytesTotal: parts[1].count, bytesBefore: parts[0].count, bytesTotal: total,
                                       records: 10, elapsedSeconds: 2)
            #expect(progress.fractionDone == Double(parts[0].count + parts[1].count / 2) / Double(total))
        }
    }

    @Test func listingsFollowTheWalksRules() throws {
        let bucket = MemoryBucket()
        for key in ["logs/a/1.gz", "logs/a/.partial/2.gz", "logs/a/.partial/3.gz", "logs/b/.DS_Store", "logs/b/4.ndjson",
                    "logs/b/5.gz", "logs-other/6.gz"] {
            bucket.put("s3://b/" + key, Array("{}\n".utf8))
        }
        let found = try InputDiscovery.inputs(for: ["s3://b/logs", "s3://b/logs/b/.DS_Store"],
                                              options: WalkOptions(excludes: ["*.ndjson"]), remote: bucket)
        // A named object is read whatever its name; below a folder, hidden names and
        // --exclude leave objects out, and the summary names them.
        #expect(found.inputs.map(\.path) == ["s3://b/logs/a/1.gz", "s3://b/logs/b/5.gz", "s3://b/logs/b/.DS_Store"])
        #expect(found.hidden == ["s3://b/logs/a/.partial", "s3://b/logs/b/.DS_Store"])
        #expect(found.excluded == ["s3://b/logs/b/4.ndjson"])
        #expect(throws: InputError.self) { try InputDiscovery.inputs(for: ["s3://b/nothing"], remote: bucket) }
    }

    /// A spool copied to the bucket is skipped and named, as a walk skips one on disk;
    /// a prefix that holds nothing else has nothing to read, an error.
    @Test func aSpoolInTheBucketIsNeverRead() throws {
        let bucket = MemoryBucket()
        for key in ["logs/a.gz", "logs/spool/state/ledger.ndjson", "logs/spool/accepted/00000001.ndjson",
                    "logs/spool-notes.txt", "copy/state/ledger.ndjson", "copy/dropped/00000001.ndjson"] {
            bucket.put("s3://b/" + key, Array("{}\n".utf8))
        }
        let found = try InputDiscovery.inputs(for: ["s3://b/logs/"], remote: bucket)
        #expect(found.inputs.map(\.path) == ["s3://b/logs/a.gz", "s3://b/logs/spool-notes.txt"])
        #expect(found.spools == ["s3://b/logs/spool"])
        let nothing = InputError([.nothingFound(
            location: "s3://b/copy/", leftOut: ["skipped 1 spool (s3://b/copy/): a walk never reads a spool's files"])])
        #expect(throws: nothing) { try InputDiscovery.inputs(for: ["s3://b/copy/"], remote: bucket) }
    }
}
