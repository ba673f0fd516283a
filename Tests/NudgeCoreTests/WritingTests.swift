import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore

/// The writer's byte-level pieces: escaping eight bytes at a time, the output buffer,
/// drop details (the background writer that takes them to files is NudgeSystem's:
/// `BackgroundWriterTests`).
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
            var out = OutputBuffer(capacity: 16)
            out.append("[")
            bytes.withUnsafeBytes { JSONOutput.appendStringRepairingUTF8($0, to: &out) }
            out.append("]")
            let parsed = try JSONSerialization.jsonObject(with: Data(out.bytes)) as? [String]
            #expect(parsed == [String(decoding: bytes, as: UTF8.self)], "round \(round): \(bytes)")

            // Valid UTF-8 takes the path that looks only at `"`, `\\` and controls.
            guard String(validating: bytes, as: UTF8.self) != nil else { continue }
            var plain = OutputBuffer(capacity: 16)
            plain.append("[")
            bytes.withUnsafeBytes { JSONOutput.appendString($0, to: &plain) }
            plain.append("]")
            #expect(plain.bytes == out.bytes, "round \(round): \(bytes)")
        }
    }

    @Test func decimalsOfEveryWidth() {
        for value in [0, 7, -7, 10, 99, 1_000_000, Int.max, Int.min + 1, Int.min] {
            var out = OutputBuffer(capacity: 16)
            JSONOutput.appendDecimal(value, to: &out)
            #expect(String(decoding: out.bytes, as: UTF8.self) == String(value))
        }
    }

    @Test func bufferGrowsTruncatesAndHandsOverItsMemory() {
        var buffer = OutputBuffer(capacity: 16)
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
}
