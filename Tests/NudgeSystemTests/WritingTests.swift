import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeSystem

/// The writer's byte-level pieces: escaping eight bytes at a time, the output buffer,
/// drop details, and the background writer's error path.
@Suite struct WritingTests {
    /// Random byte strings (quotes, backslashes, control bytes, valid and broken UTF-8,
    /// at every offset within a word) escape to JSON that Foundation's parser reads back
    /// as the same text, with each ill-formed subpart as U+FFFD.
    @Test func escapedStringsParseBackToTheirText() throws {
        var generator = SystemRandomNumberGenerator()
        let pieces: [[UInt8]] = [
            [0x22], [0x5C], [0x00], [0x1F], [0x0A], [0x7F], [0x61], [0x62, 0x63, 0x64],
            Array("é".utf8), Array("€".utf8), Array("😀".utf8), [0xFF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80],
        ]
        for round in 0..<3000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...40, using: &generator) {
                bytes += pieces.randomElement(using: &generator)!
            }
            var out = ByteBuffer(capacity: 16)
            out.append("[")
            bytes.withUnsafeBytes { JSONOutput.appendStringRepairingUTF8($0, to: &out) }
            out.append("]")
            let parsed = try JSONSerialization.jsonObject(with: Data(out.bytes)) as? [String]
            #expect(parsed == [String(decoding: bytes, as: UTF8.self)], "round \(round): \(bytes)")

            // Valid UTF-8 takes the path that looks only at `"`, `\\` and controls.
            guard String(validating: bytes, as: UTF8.self) != nil else { continue }
            var plain = ByteBuffer(capacity: 16)
            plain.append("[")
            bytes.withUnsafeBytes { JSONOutput.appendString($0, to: &plain) }
            plain.append("]")
            #expect(plain.bytes == out.bytes, "round \(round): \(bytes)")
        }
    }

    @Test func decimalsOfEveryWidth() {
        for value in [0, 7, -7, 10, 99, 1_000_000, Int.max, Int.min + 1, Int.min] {
            var out = ByteBuffer(capacity: 16)
            JSONOutput.appendDecimal(value, to: &out)
            #expect(String(decoding: out.bytes, as: UTF8.self) == String(value))
        }
    }

    @Test func bufferGrowsTruncatesAndHandsOverItsMemory() {
        var buffer = ByteBuffer(capacity: 16)
        for i in 0..<1000 { buffer.append(UInt8(i & 0x7F)) }
        let (count, capacity) = (buffer.count, buffer.capacity)
        #expect(count == 1000 && capacity >= 1000)
        #expect(buffer.bytes == (0..<1000).map { UInt8($0 & 0x7F) })
        buffer.truncate(to: 10)
        #expect(buffer.bytes == Array(0..<10))
        let handed = buffer.exchangeStorage(for: .allocate(capacity: 32))
        defer { handed.deallocate() }
        #expect(handed.count == 10 && handed.base[9] == 9)
        let (isEmpty, newCapacity) = (buffer.isEmpty, buffer.capacity)
        #expect(isEmpty && newCapacity == 32)
        buffer.append("after")
        #expect(buffer.bytes == Array("after".utf8))
    }

    @Test func detailsQuoteAtMostEightyCharactersOnOneLine() {
        func quote(_ text: String) -> String {
            var detail = DetailText(bytes: [])
            Array(text.utf8).withUnsafeBytes { detail.appendQuote(of: $0) }
            return String(decoding: detail.bytes, as: UTF8.self)
        }
        #expect(quote("page") == "\"page\"")
        #expect(quote("a\nb\rc\u{2028}d\u{85}e") == "\"a b c d e\"")
        let long = String(repeating: "é", count: 100)
        #expect(quote(long) == "\"" + String(repeating: "é", count: 80) + "…\"")
        #expect(quote(String(repeating: "x", count: 80)) == "\"" + String(repeating: "x", count: 80) + "\"")
    }

    /// Blocks for two files, queued faster than one pending block allows, reach each
    /// file complete and in the order they were submitted.
    @Test func backgroundWritesKeepSubmissionOrder() throws {
        try withTemporaryDirectory { dir in
            let paths = ["a", "b"].map { dir.appendingPathComponent($0).path }
            let descriptors = try paths.map { try FileDescriptor.create($0) }
            defer { descriptors.forEach { $0.close() } }
            let writer = BackgroundWriter(maxPending: 1)
            defer { writer.stop() }
            var expected = [String](repeating: "", count: 2)
            var buffer = ByteBuffer(capacity: 16)
            for block in 0..<200 {
                let file = block % 3 == 0 ? 1 : 0
                let text = String(repeating: "\(block) ", count: 1 + block % 50) + "\n"
                buffer.append(utf8: text)
                expected[file] += text
                try writer.submit(&buffer, to: descriptors[file])
            }
            try writer.drain()
            for (path, text) in zip(paths, expected) {
                #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
            }
        }
    }

    /// A write error on the writing thread reaches the caller at the next drain.
    @Test func aFailedBackgroundWriteIsReported() throws {
        let writer = BackgroundWriter()
        defer { writer.stop() }
        var buffer = ByteBuffer(capacity: 16)
        buffer.append("record\n")
        let readOnly = try FileDescriptor.open("/dev/null", for: .reading)
        defer { readOnly.close() }
        try writer.submit(&buffer, to: readOnly)
        let isEmpty = buffer.isEmpty
        #expect(isEmpty)
        // write(2) on a descriptor opened for reading: EBADF, with the descriptor named.
        let failure = #expect(throws: BackgroundWriter.Failure.self) { try writer.drain() }
        #expect(failure?.descriptor == readOnly)
        #expect(failure?.error == SystemError(code: EBADF))
    }
}
