import Foundation
import Testing
@testable import NudgeIngest

/// The reader on real gzip files made by the system's gzip, at every chunk size.
@Suite struct InputReaderTests {
    static let text = (1...40).map { i in
        "{\"type\":\"track\",\"n\":\(i),\"s\":\"\(String(repeating: "ü", count: i % 7))\"}" + (i % 5 == 0 ? "\r\n" : "\n")
    }.joined()

    struct Read { var lines: [String]; var numbers: [Int]; var report: ReadReport }

    static func read(_ bytes: [UInt8], chunk: Int = 1 << 20, inflateChunk: Int = 1 << 16) throws -> Read {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("input")
            try Data(bytes).write(to: url)
            var lines: [String] = []
            var numbers: [Int] = []
            let reader = InputReader(chunkBytes: chunk, inflateChunkBytes: inflateChunk, maxLineBytes: 1 << 20)
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

    @Test func plainAndGzipGiveTheSameLinesAtEveryChunkSize() throws {
        let plain = Array(Self.text.utf8)
        let compressed = try gzip(plain)
        for chunk in [1, 2, 3, 7, 64, 1000, compressed.count, 1 << 20] {
            let fromPlain = try Self.read(plain, chunk: chunk)
            let fromGzip = try Self.read(compressed, chunk: chunk, inflateChunk: chunk == 1 ? 1 : 97)
            #expect(fromPlain.lines == Self.expectedLines, "plain, chunk \(chunk)")
            #expect(fromGzip.lines == Self.expectedLines, "gzip, chunk \(chunk)")
            #expect(fromGzip.numbers == Array(1...Self.expectedLines.count), "physical line numbers, chunk \(chunk)")
            #expect(fromGzip.report.stage.format == .gzip && fromPlain.report.stage.format == .plain)
            #expect(fromGzip.report.stage.end == .complete)
            #expect(fromGzip.report.stage.bytes == compressed.count)
            #expect(fromGzip.report.stage.uncompressedBytes == plain.count)
        }
    }

    @Test func everyMemberOfAMultiMemberFileIsReadAsOneStream() throws {
        let plain = Array(Self.text.utf8)
        // Split mid-line: a line spans the member boundary, as `cat a.gz b.gz` can make.
        let cut = plain.count / 2 + 3
        let parts = [Array(plain[..<cut]), Array(plain[cut...])]
        let multi = try gzip(parts[0]) + gzip(parts[1], level: 1) + gzip([])
        for chunk in [1, 5, 18, 19, 20, 4096] {
            let read = try Self.read(multi, chunk: chunk, inflateChunk: 64)
            #expect(read.lines == Self.expectedLines, "chunk \(chunk)")
            #expect(read.report.stage.end == .complete)
        }
    }

    @Test func aTruncatedStreamKeepsTheCompleteLinesBeforeTheFault() throws {
        let plain = Array(Self.text.utf8)
        let compressed = try gzip(plain, level: 1)
        for length in stride(from: 2, to: compressed.count, by: max(1, compressed.count / 37)) {
            let read = try Self.read(Array(compressed.prefix(length)), chunk: 13)
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

    @Test func trailingGarbageAfterTheLastMemberIsAFault() throws {
        let compressed = try gzip(Array(Self.text.utf8))
        for garbage: [UInt8] in [[0], [0x1F, 0x00], Array("junk".utf8), [0x1F]] {
            let read = try Self.read(compressed + garbage, chunk: 9)
            #expect(read.lines == Self.expectedLines, "garbage \(garbage)")
            #expect(read.report.stage.end != .complete)
            if garbage != [0x1F] {
                #expect(read.report.stage.end == .corrupt(.trailingGarbage))
                #expect(read.report.stage.faultOffset == compressed.count, "the offset is where the garbage begins")
            }
        }
    }

    @Test func corruptDeflateDataIsAFaultWithItsOffset() throws {
        var compressed = try gzip(Array(String(repeating: Self.text, count: 20).utf8))
        let middle = compressed.count / 2
        for i in middle..<(middle + 16) { compressed[i] ^= 0x5A }
        let read = try Self.read(compressed, chunk: 4096)
        guard case .corrupt(.corrupt) = read.report.stage.end else {
            Issue.record("expected a corrupt stream, got \(read.report.stage.end)")
            return
        }
        #expect(read.report.stage.faultOffset >= middle - 4096 && read.report.stage.faultOffset <= compressed.count)
        #expect(read.lines.count < 40 * 20)
    }

    @Test func aBadCRCIsDetectedAfterTheMemberIsDecoded() throws {
        var compressed = try gzip(Array(Self.text.utf8))
        compressed[compressed.count - 8] ^= 0xFF  // CRC32 in the trailer
        let read = try Self.read(compressed)
        #expect(read.lines == Self.expectedLines)
        #expect(read.report.stage.end == .corrupt(.corrupt("incorrect data check")))
    }

    @Test func theFragmentAtAFaultLeavesOutTheByteOrderMark() throws {
        let compressed = try gzip([0xEF, 0xBB, 0xBF] + Array("{\"type\":\"identify\"".utf8) + [UInt8](repeating: 0x78, count: 5000))
        let read = try Self.read(Array(compressed.dropLast(10)))
        #expect(read.report.stage.end == .corrupt(.truncated))
        #expect(read.report.fragment.starts(with: Array("{\"type\"".utf8)))
        #expect(read.report.faultLine == 1)
    }

    @Test func anUnopenableFileIsUnreadable() throws {
        let report = try InputReader(maxLineBytes: 100).read(InputFile(path: "/nonexistent/file.gz")) { _ in }
        #expect(report.stage.end == .unreadable("No such file or directory"))
        #expect(report.faultLine == 1)
    }

    @Test func tinyFilesAreReadAsPlain() throws {
        #expect(try Self.read([]).lines.isEmpty)
        #expect(try Self.read([0x31]).lines == ["1"])
        #expect(try Self.read([0x1F]).lines == ["\u{1F}"])
        let magicOnly = try Self.read([0x1F, 0x8B])
        #expect(magicOnly.report.stage.end == .corrupt(.truncated))
    }
}
