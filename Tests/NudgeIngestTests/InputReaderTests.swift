import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// The reader on real gzip files made by the system's gzip, at every chunk size, with
/// each inflate backend: every gzip test runs once with zlib and once with ISA-L, which
/// is skipped (cancelled, with the reason) where ISA-L cannot be used.
@Suite struct InputReaderTests {
    /// Skips the ISA-L case of a test where ISA-L cannot be used here. The console
    /// output of swift-testing 6.3 does not show a cancelled test case's comment, so the
    /// reason is written to standard error as well.
    static func require(_ backend: InflateBackend, _ test: String = #function) throws {
        if backend == .isal, let reason = InflateBackend.isalUnavailableReason {
            FileHandle.standardError.write(Data("InputReaderTests.\(test): ISA-L variant skipped: \(reason)\n".utf8))
            try Test.cancel("ISA-L variant skipped: \(reason)")
        }
    }

    static let text = (1...40).map { i in
        "{\"type\":\"track\",\"n\":\(i),\"s\":\"\(String(repeating: "ü", count: i % 7))\"}" + (i % 5 == 0 ? "\r\n" : "\n")
    }.joined()

    struct Read { var lines: [String]; var numbers: [Int]; var report: ReadReport }

    static func read(
        _ bytes: [UInt8], chunk: Int = 1 << 20, inflateChunk: Int = 1 << 16, backend: InflateBackend = .zlib
    ) throws -> Read {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("input")
            try Data(bytes).write(to: url)
            var lines: [String] = []
            var numbers: [Int] = []
            let reader = InputReader(
                chunkBytes: chunk, inflateChunkBytes: inflateChunk, maxLineBytes: 1 << 20, inflater: backend)
            let report = try reader.read(InputFile(path: url.path)) { line in
                lines.append(String(decoding: line.bytes, as: UTF8.self))
                numbers.append(line.number)
            }
            return Read(lines: lines, numbers: numbers, report: report)
        }
    }

    static var expectedLines: [String] {
        // Split bytes, not Characters: in a String, "\r\n" is one Character.
        Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
            .map { String(decoding: $0.last == 0x0D ? $0.dropLast() : $0[...], as: UTF8.self) }
    }

    @Test(arguments: [InflateBackend.zlib, .isal])
    func plainAndGzipGiveTheSameLinesAtEveryChunkSize(backend: InflateBackend) throws {
        try Self.require(backend)
        let plain = Array(Self.text.utf8)
        let compressed = try gzip(plain)
        for chunk in [1, 2, 3, 7, 64, 1000, compressed.count, 1 << 20] {
            let fromPlain = try Self.read(plain, chunk: chunk, backend: backend)
            let fromGzip = try Self.read(compressed, chunk: chunk, inflateChunk: chunk == 1 ? 1 : 97, backend: backend)
            #expect(fromPlain.lines == Self.expectedLines, "plain, chunk \(chunk)")
            #expect(fromGzip.lines == Self.expectedLines, "gzip, chunk \(chunk)")
            #expect(fromGzip.numbers == Array(1...Self.expectedLines.count), "physical line numbers, chunk \(chunk)")
            #expect(fromGzip.report.stage.format == .gzip && fromPlain.report.stage.format == .plain)
            #expect(fromGzip.report.stage.end == .complete)
            #expect(fromGzip.report.stage.bytes == compressed.count)
            #expect(fromGzip.report.stage.uncompressedBytes == plain.count)
        }
    }

    @Test(arguments: [InflateBackend.zlib, .isal])
    func everyMemberOfAMultiMemberFileIsReadAsOneStream(backend: InflateBackend) throws {
        try Self.require(backend)
        let plain = Array(Self.text.utf8)
        // Split mid-line: a line spans the member boundary, as `cat a.gz b.gz` can make.
        let cut = plain.count / 2 + 3
        let parts = [Array(plain[..<cut]), Array(plain[cut...])]
        let multi = try gzip(parts[0]) + gzip(parts[1], level: 1) + gzip([])
        for chunk in [1, 5, 18, 19, 20, 4096] {
            let read = try Self.read(multi, chunk: chunk, inflateChunk: chunk == 1 ? 1 : 64, backend: backend)
            #expect(read.lines == Self.expectedLines, "chunk \(chunk)")
            #expect(read.report.stage.end == .complete)
        }
    }

    @Test(arguments: [InflateBackend.zlib, .isal])
    func aTruncatedStreamKeepsTheCompleteLinesBeforeTheFault(backend: InflateBackend) throws {
        try Self.require(backend)
        let plain = Array(Self.text.utf8)
        let compressed = try gzip(plain, level: 1)
        for length in stride(from: 2, to: compressed.count, by: max(1, compressed.count / 37)) {
            let read = try Self.read(Array(compressed.prefix(length)), chunk: 13, backend: backend)
            guard case .corrupt = read.report.stage.end else {
                Issue.record("prefix of \(length) bytes was read as complete")
                continue
            }
            // Whatever was decoded is a prefix of the true lines; the fragment is not a line.
            #expect(Array(Self.expectedLines.prefix(read.lines.count)) == read.lines, "prefix \(length)")
            // No line of this text is blank, so the fault interrupts the line after the last one read.
            #expect(read.report.faultLine == read.lines.count + 1)
            #expect(read.report.stage.faultOffset <= length)
        }
    }

    @Test(arguments: [InflateBackend.zlib, .isal])
    func trailingGarbageAfterTheLastMemberIsAFault(backend: InflateBackend) throws {
        try Self.require(backend)
        let compressed = try gzip(Array(Self.text.utf8))
        for garbage: [UInt8] in [[0], [0x1F, 0x00], Array("junk".utf8), [0x1F]] {
            let read = try Self.read(compressed + garbage, chunk: 9, backend: backend)
            #expect(read.lines == Self.expectedLines, "garbage \(garbage)")
            #expect(read.report.stage.end != .complete)
            if garbage != [0x1F] {
                #expect(read.report.stage.end == .corrupt(.trailingGarbage))
                #expect(read.report.stage.faultOffset == compressed.count, "the offset is where the garbage begins")
            }
        }
    }

    @Test(arguments: [InflateBackend.zlib, .isal])
    func corruptDeflateDataIsAFaultWithItsOffset(backend: InflateBackend) throws {
        try Self.require(backend)
        var compressed = try gzip(Array(String(repeating: Self.text, count: 20).utf8))
        let middle = compressed.count / 2
        for i in middle..<(middle + 16) { compressed[i] ^= 0x5A }
        let read = try Self.read(compressed, chunk: 4096, backend: backend)
        guard case .corrupt(.corrupt) = read.report.stage.end else {
            Issue.record("expected a corrupt stream, got \(read.report.stage.end)")
            return
        }
        #expect(read.report.stage.faultOffset >= middle - 4096 && read.report.stage.faultOffset <= compressed.count)
        #expect(read.lines.count < 40 * 20)
    }

    @Test(arguments: [InflateBackend.zlib, .isal])
    func aBadCRCIsDetectedAfterTheMemberIsDecoded(backend: InflateBackend) throws {
        try Self.require(backend)
        let member = try gzip(Array(Self.text.utf8))
        for byte in 0..<4 {
            var compressed = member
            compressed[compressed.count - 8 + byte] ^= 0xFF  // CRC32 in the trailer
            for chunk in [1, 7, 1 << 20] {
                let read = try Self.read(compressed, chunk: chunk, backend: backend)
                #expect(read.lines == Self.expectedLines)
                #expect(read.report.stage.end == .corrupt(.corrupt("incorrect data check")), "byte \(byte), chunk \(chunk)")
                // zlib reads the CRC, then checks it: the fault is its last byte.
                #expect(read.report.stage.faultOffset == compressed.count - 5)
            }
        }
    }

    @Test(arguments: [InflateBackend.zlib, .isal])
    func aBadLengthIsDetectedAfterTheCRC(backend: InflateBackend) throws {
        try Self.require(backend)
        let member = try gzip(Array(Self.text.utf8))
        // ISIZE in the trailer, in the last member of three (the first also a bad length).
        for byte in 0..<4 {
            var bad = member
            bad[bad.count - 4 + byte] ^= 0x01
            let compressed = member + (try gzip([])) + bad
            for chunk in [1, 7, 1 << 20] {
                let read = try Self.read(compressed, chunk: chunk, backend: backend)
                #expect(read.lines == Self.expectedLines + Self.expectedLines)
                #expect(read.report.stage.end == .corrupt(.corrupt("incorrect length check")), "byte \(byte), chunk \(chunk)")
                #expect(read.report.stage.faultOffset == compressed.count - 1)
            }
        }
    }

    /// Header fields zlib checks and ISA-L 2.30 leaves to its caller, and optional
    /// fields split across reads (ISA-L's own header parsing loses its flags then).
    @Test(arguments: [InflateBackend.zlib, .isal])
    func gzipHeadersAreCheckedAlikeAtEveryChunkSize(backend: InflateBackend) throws {
        try Self.require(backend)
        let plain = Array(Self.text.utf8)
        let member = try gzip(plain)
        let deflated = Array(member[10..<(member.count - 8)])
        let trailer = Array(member.suffix(8))
        func header(flags: UInt8, method: UInt8 = 8, fields: [UInt8] = [], hcrcFix: Bool = false) -> [UInt8] {
            var h: [UInt8] = [0x1F, 0x8B, method, flags, 0, 0, 0, 0, 0, 0xFF] + fields
            if flags & 0x02 != 0 {
                var crc = crc32(h)
                if hcrcFix { crc ^= 1 }
                h += [UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF)]
            }
            return h
        }
        // FEXTRA, FNAME, FCOMMENT, FHCRC: the fields are skipped and the header CRC checked.
        let fields: [UInt8] = [4, 0] + Array("XYZW".utf8) + Array("name.json".utf8) + [0] + Array("a comment".utf8) + [0]
        let full = header(flags: 0x04 | 0x08 | 0x10 | 0x02, fields: fields)
        let badHCRC = header(flags: 0x04 | 0x08 | 0x10 | 0x02, fields: fields, hcrcFix: true)
        for chunk in [1, 2, 3, 5, 11, 1 << 20] {
            let good = try Self.read(full + deflated + trailer + member, chunk: chunk, backend: backend)
            #expect(good.lines == Self.expectedLines + Self.expectedLines, "chunk \(chunk)")
            #expect(good.report.stage.end == .complete)

            let hcrc = try Self.read(badHCRC + deflated + trailer, chunk: chunk, backend: backend)
            #expect(hcrc.report.stage.end == .corrupt(.corrupt("header crc mismatch")), "chunk \(chunk)")
            #expect(hcrc.report.stage.faultOffset == badHCRC.count - 1)

            for (bytes, message) in [(header(flags: 0x20), "unknown header flags set"),
                                     (header(flags: 0, method: 7), "unknown compression method")] {
                // In the second member, so the offset counts from the file's start.
                let read = try Self.read(member + bytes + deflated + trailer, chunk: chunk, backend: backend)
                #expect(read.lines == Self.expectedLines)
                #expect(read.report.stage.end == .corrupt(.corrupt(message)), "chunk \(chunk)")
                #expect(read.report.stage.faultOffset == member.count + 3, "the FLG byte")
            }
        }
    }

    /// Where a gzip stream breaks, ISA-L alone stops a little short of zlib (up to KiBs
    /// with a small output buffer) with other messages; so the reader has zlib read the
    /// file again, skip what ISA-L handed out and report the fault. The whole report
    /// (fault, offsets, bytes, fingerprint), the lines and the fragment are then zlib's,
    /// at every chunk and output buffer size: a run's spools do not depend on the backend.
    @Test func atAFaultISALHandsOverToZlibAndEverythingIsZlibs() throws {
        try Self.require(.isal)
        let plain = Array(String(repeating: Self.text, count: 40).utf8)
        let whole = try gzip(plain, level: 9)
        var damaged: [[UInt8]] = [Array(whole.prefix(whole.count / 2)), Array(whole.dropLast(3))]
        for position in stride(from: 40, to: whole.count - 40, by: whole.count / 7) {
            var corrupt = whole
            corrupt[position] ^= 0x5A
            corrupt[position + 1] ^= 0xA5
            damaged.append(corrupt)
        }
        var faults = 0
        for (index, input) in damaged.enumerated() {
            for (chunk, inflateChunk) in [(1 << 20, 1 << 16), (997, 1000), (64, 100), (4096, 33)] {
                let zlib = try Self.read(input, chunk: chunk, inflateChunk: inflateChunk, backend: .zlib)
                let isal = try Self.read(input, chunk: chunk, inflateChunk: inflateChunk, backend: .isal)
                let at = "input \(index), chunk \(chunk), output \(inflateChunk)"
                #expect(isal.lines == zlib.lines, "\(at)")
                #expect(isal.numbers == zlib.numbers, "\(at)")
                #expect(isal.report.stage.end == zlib.report.stage.end, "\(at)")
                #expect(isal.report.stage.faultOffset == zlib.report.stage.faultOffset, "\(at)")
                #expect(isal.report.stage.bytes == zlib.report.stage.bytes, "\(at)")
                #expect(isal.report.stage.uncompressedBytes == zlib.report.stage.uncompressedBytes, "\(at)")
                #expect(isal.report.stage.fingerprint == zlib.report.stage.fingerprint, "\(at)")
                #expect(isal.report.faultLine == zlib.report.faultLine && isal.report.fragment == zlib.report.fragment,
                        "\(at)")
                if zlib.report.stage.end != .complete { faults += 1 }
            }
        }
        #expect(faults >= 20, "the damaged inputs must break the stream")
    }

    @Test func anUnavailableBackendIsReportedNotThrown() throws {
        let compressed = try gzip(Array(Self.text.utf8))
        if let reason = InflateBackend.isalUnavailableReason {
            #expect(throws: InflateBackendError.isalUnavailable(reason)) { try InflateBackend.isal.resolved() }
            #expect(try InflateBackend.auto.resolved() == .zlib)
            let read = try Self.read(compressed, backend: .isal)
            #expect(read.report.stage.end == .unreadable(InflateBackendError.isalUnavailable(reason).message))
        } else {
            #expect(try InflateBackend.isal.resolved() == .isal)
            #expect(try InflateBackend.auto.resolved() == .isal)
        }
        #expect(try InflateBackend.zlib.resolved() == .zlib)
        #expect(try Self.read(compressed, backend: .auto).lines == Self.expectedLines)
    }

    @Test(arguments: [InflateBackend.zlib, .isal])
    func theFragmentAtAFaultLeavesOutTheByteOrderMark(backend: InflateBackend) throws {
        try Self.require(backend)
        let compressed = try gzip([0xEF, 0xBB, 0xBF] + Array("{\"type\":\"identify\"".utf8) + [UInt8](repeating: 0x78, count: 5000))
        let read = try Self.read(Array(compressed.dropLast(10)), backend: backend)
        #expect(read.report.stage.end == .corrupt(.truncated))
        #expect(read.report.fragment.starts(with: Array("{\"type\"".utf8)))
        #expect(read.report.faultLine == 1)
    }

    @Test func anUnopenableFileIsUnreadable() throws {
        let report = try InputReader(maxLineBytes: 100).read(InputFile(path: "/nonexistent/file.gz")) { _ in }
        #expect(report.stage.end == .unreadable("No such file or directory"))
        #expect(report.faultLine == 1)
    }

    @Test(arguments: [InflateBackend.zlib, .isal])
    func tinyFilesAreReadAsPlain(backend: InflateBackend) throws {
        try Self.require(backend)
        #expect(try Self.read([], backend: backend).lines.isEmpty)
        #expect(try Self.read([0x31], backend: backend).lines == ["1"])
        #expect(try Self.read([0x1F], backend: backend).lines == ["\u{1F}"])
        let magicOnly = try Self.read([0x1F, 0x8B], backend: backend)
        #expect(magicOnly.report.stage.end == .corrupt(.truncated))
    }

    /// zip, bzip2, xz and zstd are known by their first bytes, whatever the chunk size,
    /// before any line is handed out; bytes that only begin like them are read.
    @Test func otherFormatsAreRefusedByTheirFirstBytes() throws {
        let heads: [(RefusedFormat, [UInt8])] = [
            (.zip, [0x50, 0x4B, 0x03, 0x04]), (.zip, [0x50, 0x4B, 0x05, 0x06]), (.bzip2, Array("BZh9".utf8)),
            (.xz, [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]), (.zstd, [0x28, 0xB5, 0x2F, 0xFD]),
        ]
        for (format, head) in heads {
            #expect(RefusedFormat(head: head) == format)
            let bytes = head + Array("\n{\"type\":\"identify\"}\n".utf8)
            for chunk in [1, 2, 3, 5, 16, 1 << 20] {
                let read = try Self.read(bytes, chunk: chunk)
                #expect(read.report.stage.end == .refused(format), "\(format) at chunk \(chunk)")
                #expect(read.lines.isEmpty)
            }
        }
        #expect(try Self.read(Array("BZ\n".utf8)).lines == ["BZ"])
        #expect(try Self.read(Array("PK".utf8)).lines == ["PK"])
        #expect(RefusedFormat(head: [0x50, 0x4B, 0x01, 0x02]) == nil)
        #expect(RefusedFormat(head: [0xFD, 0x37, 0x7A, 0x58, 0x5A]) == nil)
        #expect(RefusedFormat(head: [0x1F, 0x8B, 0x08]) == nil)
    }
}

/// CRC-32 (gzip's), for headers made by hand.
private func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

extension InputReader {
    /// Reads, inflates and frames `input` on the calling thread, handing every line to
    /// `onLine`: what `run`'s readers do, without the record stage.
    func read(_ input: InputFile, onLine: (FramedLine) throws -> Void) throws -> ReadReport {
        var framer = LineFramer(maxLineBytes: maxLineBytes)
        let stage = try decompress(input) { chunk, _ in
            var position = 0
            while let line = framer.nextLine(in: chunk, from: &position) { try onLine(line) }
        }
        if stage.end == .complete, let last = framer.finish() { try onLine(last) }
        return ReadReport(stage, framer: framer)
    }
}
