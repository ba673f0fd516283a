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
