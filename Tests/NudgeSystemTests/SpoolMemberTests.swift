import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeSystem

/// The gzip members of compressed spool files: what `gzip -dc` (an independent tool)
/// reads of them, what their header says, where they are cut, and the background
/// writer that compresses them on its own threads.
@Suite struct SpoolMemberTests {
    /// Records of every kind of byte a spool holds: JSON, escapes, long runs, UTF-8.
    static func records(_ count: Int, seed: Int) -> [UInt8] {
        var text = ""
        for i in 0..<count {
            let pad = String(repeating: "é\\\"x", count: (i * 7 + seed) % 90)
            text += #"{"kind":"track","body":{"ext_id":"u\#(i % 37)","n":\#(i),"pad":"\#(pad)"}}"# + "\n"
        }
        return Array(text.utf8)
    }

    static func member(_ records: [UInt8], with encoder: SpoolMemberEncoder) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: SpoolMember.bound(inflatedBytes: records.count))
        let length = records.withUnsafeBytes { bytes in
            output.withUnsafeMutableBufferPointer { encoder.compress(bytes, into: $0.baseAddress!) }
        }
        return Array(output.prefix(length))
    }

    /// Each library's members inflate, alone and one after another (a spool file), to
    /// exactly the records, read by the system's gzip; their header gives their own
    /// length and the records', and the same records always make the same member.
    @Test(arguments: [true, false]) func membersAreGzipThatAnyToolReads(preferringISAL: Bool) throws {
        let encoder = SpoolMemberEncoder(preferringISAL: preferringISAL)
        if !preferringISAL { #expect(encoder.library == "zlib") }
        let parts = [Self.records(3_000, seed: 1), Self.records(1, seed: 2), [], Self.records(40_000, seed: 3)]
        var file: [UInt8] = []
        for records in parts {
            let member = Self.member(records, with: encoder)
            #expect(try gunzip(member) == records, "\(encoder.library): \(records.count) bytes")
            let header = try #require(member.withUnsafeBytes { SpoolMember.header($0) })
            #expect(header == SpoolMember.Header(memberBytes: member.count, inflatedBytes: records.count))
            // The same member from a fresh encoder as from one that compressed others before.
            #expect(Self.member(records, with: SpoolMemberEncoder(preferringISAL: preferringISAL)) == member,
                    "deterministic")
            if records.count > 100_000 { #expect(member.count * 4 < records.count, "compressed: \(member.count)") }
            file += member
        }
        #expect(try gunzip(file) == parts.flatMap { $0 })
    }

    /// The member depends on the records alone: not on where they are in memory (their
    /// alignment), the bytes before them, the bytes after them (a block reused for smaller records still holds
    /// the end of larger ones), nor what the output's memory held before.
    @Test(arguments: [true, false]) func membersDependOnTheRecordsAlone(preferringISAL: Bool) {
        let encoder = SpoolMemberEncoder(preferringISAL: preferringISAL)
        var generator = SystemRandomNumberGenerator()
        for count in [1, 3, 8, 21, 60, 300, 1_000, 5_000, 20_000] {
            let records = Array(Self.records(count, seed: count).prefix(count * 40))
            var members: Set<[UInt8]> = []
            for shift in 0..<8 {
                let garbage = (0..<256).map { _ in shift % 2 == 0 ? 0 : UInt8.random(in: 0...255, using: &generator) }
                let before = (0..<(shift * 8 + 64)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let block = before + records + garbage
                var output = [UInt8](repeating: shift % 2 == 0 ? 0 : 0xA5, count: SpoolMember.bound(inflatedBytes: records.count))
                let length = block.withUnsafeBytes { bytes in
                    output.withUnsafeMutableBufferPointer {
                        encoder.compress(UnsafeRawBufferPointer(rebasing: bytes[before.count..<(before.count + records.count)]),
                                         into: $0.baseAddress!)
                    }
                }
                members.insert(Array(output.prefix(length)))
            }
            #expect(members.count == 1, "\(encoder.library), \(records.count) bytes: \(members.count) members")
        }
    }

    /// Compressing threads of their own, at once, each with its own encoder and a stack
    /// of its own history, make the same member of the same records.
    @Test func everyThreadMakesTheSameMember() {
        let records = (0..<12).map { Array(Self.records(300 + 40 * $0, seed: $0).prefix(700 + 97 * $0)) }
        let results = ConditionLock<[[[UInt8]]]>(Array(repeating: [], count: records.count))
        let done = ConditionLock(0)
        for thread in 0..<4 {
            startThread(named: "member-test-\(thread)") {
                let encoder = SpoolMemberEncoder()
                for round in 0..<30 {
                    for (index, part) in records.enumerated() where (index + round + thread) % 3 == 0 {
                        let member = Self.member(part, with: encoder)
                        results.withLock { $0[index].append(member) }
                    }
                }
                done.withLock { count in
                    count += 1
                    done.broadcast()
                }
            }
        }
        done.withLock(until: { $0 == 4 }) { _ in }
        let members = results.withLock { $0 }
        for (index, made) in members.enumerated() {
            #expect(Set(made).count == 1, "records \(index): \(Set(made).count) different members of \(made.count)")
        }
    }

    /// A header that is not one written here (another tool's gzip, a damaged field) is
    /// refused, never read as lengths.
    @Test func aHeaderNotWrittenHereIsRefused() throws {
        let records = Self.records(10, seed: 4)
        let foreign = try gzip(records)
        #expect(foreign.withUnsafeBytes { SpoolMember.header($0) } == nil)
        var member = Self.member(records, with: SpoolMemberEncoder())
        #expect(member.withUnsafeBytes { SpoolMember.header(UnsafeRawBufferPointer(rebasing: $0.prefix(23))) } == nil)
        member[12] = UInt8(ascii: "X")
        #expect(member.withUnsafeBytes { SpoolMember.header($0) } == nil)
    }

    /// A member ends at the first record end at or past the length asked for, whatever
    /// follows; none is cut while no record reaches it.
    @Test func membersAreCutAtTheFirstRecordEndPastTheirLength() {
        let bytes = Array("ab\ncdef\ng\n".utf8)
        bytes.withUnsafeBytes { records in
            #expect(SpoolMember.end(of: records, inflatedBytes: 1) == 3)
            #expect(SpoolMember.end(of: records, inflatedBytes: 3) == 3)
            #expect(SpoolMember.end(of: records, inflatedBytes: 4) == 8)
            #expect(SpoolMember.end(of: records, inflatedBytes: 9) == 10)
            #expect(SpoolMember.end(of: records, inflatedBytes: 11) == nil)
            #expect(SpoolMember.end(of: UnsafeRawBufferPointer(rebasing: records.prefix(6)), inflatedBytes: 4) == nil)
        }
    }

    /// Records compressed in one call (a requeue's rewrite of the rejected spool) are
    /// members cut by the rule: each one alone as the cut rule says, together the
    /// records, read by the system's gzip; no records make no member.
    @Test func manyRecordsAtOnceAreMembersCutByTheRule() throws {
        let encoder = SpoolMemberEncoder()
        let records = Self.records(40_000, seed: 4)
        #expect(records.count > 2 * SpoolMember.defaultInflatedBytes)
        var file: [UInt8] = []
        records.withUnsafeBytes { encoder.compressMembers($0, appendingTo: &file) }
        #expect(try gunzip(file) == records)
        var (offset, inflated, ends) = (0, 0, [Int]())
        while offset < file.count {
            let header = try #require(file.withUnsafeBytes { SpoolMember.header(UnsafeRawBufferPointer(rebasing: $0[offset...])) })
            (offset, inflated) = (offset + header.memberBytes, inflated + header.inflatedBytes)
            ends.append(inflated)
        }
        var expected: [Int] = []
        var start = 0
        while start < records.count {
            let end = records.withUnsafeBytes {
                SpoolMember.end(of: UnsafeRawBufferPointer(rebasing: $0[start...]), inflatedBytes: SpoolMember.defaultInflatedBytes)
            }
            start += end ?? (records.count - start)
            expected.append(start)
        }
        #expect(ends == expected && ends.count > 2, "\(ends)")
        var none: [UInt8] = []
        [UInt8]().withUnsafeBytes { encoder.compressMembers($0, appendingTo: &none) }
        #expect(none.isEmpty)
    }

    /// Blocks submitted compressed, to two files, with a part of each kept back for the
    /// next: every file is its members in submission order, and reads back whole.
    @Test func compressedBlocksReachTheirFilesInOrder() throws {
        try withTemporaryDirectory { dir in
            let paths = ["a", "b"].map { dir.appendingPathComponent($0).path }
            let descriptors = try paths.map { try FileDescriptor.create($0) }
            defer { descriptors.forEach { $0.close() } }
            let writer = BackgroundWriter(maxPending: 1, compressors: 3)
            defer { writer.stop() }
            var expected: [[UInt8]] = [[], []]
            var first = OutputBuffer(capacity: 16)
            var second = OutputBuffer(capacity: 16)
            func add(_ records: [UInt8], to buffer: inout OutputBuffer, file: Int) throws {
                buffer.append(records)
                // Keep the last record back: it starts the file's next member.
                let kept = records.count - (records.dropLast().lastIndex(of: 0x0A).map { $0 + 1 } ?? 0)
                let prefix = buffer.count - kept
                expected[file] += buffer.withBytes { Array($0.prefix(prefix)) }
                try writer.submit(&buffer, prefix: prefix, to: descriptors[file], compressed: true)
                #expect(buffer.count == kept)
            }
            for block in 0..<120 {
                let records = Self.records(1 + block % 70, seed: block)
                if block % 3 == 0 { try add(records, to: &second, file: 1) } else { try add(records, to: &first, file: 0) }
            }
            expected[0] += first.bytes
            expected[1] += second.bytes
            try writer.submit(&first, to: descriptors[0], compressed: true)
            try writer.submit(&second, to: descriptors[1], compressed: true)
            try writer.drain()
            for (path, records) in zip(paths, expected) {
                #expect(try gunzip([UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) == records)
            }
        }
    }
}
