import NudgeTestSupport
import Testing
@testable import NudgeCore

/// The framer against a plain oracle, fed at every chunk size and one byte at a time.
@Suite struct LineFramerTests {
    struct Line: Equatable { var number: Int; var bytes: [UInt8]; var length: Int }

    /// What the contract says the lines are, computed the obvious way.
    static func oracle(_ input: [UInt8]) -> [Line] {
        var data = input
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data.removeFirst(3) }
        var parts = data.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if data.last == 0x0A || data.isEmpty { parts.removeLast() }
        var lines: [Line] = []
        for (index, var part) in parts.enumerated() {
            if part.last == 0x0D { part.removeLast() }
            if part.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            lines.append(Line(number: index + 1, bytes: part, length: part.count))
        }
        return lines
    }

    static func frame(_ input: [UInt8], chunk: Int, maxLineBytes: Int = 1 << 20) -> [Line] {
        var framer = LineFramer(maxLineBytes: maxLineBytes)
        var lines: [Line] = []
        input.withUnsafeBytes { raw in
            var start = 0
            while start < raw.count {
                let end = min(start + chunk, raw.count)
                let chunk = UnsafeRawBufferPointer(rebasing: raw[start..<end])
                var position = 0
                while let line = framer.nextLine(in: chunk, from: &position) {
                    lines.append(Line(number: line.number, bytes: Array(line.bytes), length: line.length))
                }
                #expect(position == chunk.count, "a chunk is used up before the framer asks for the next")
                start = end
            }
        }
        if let last = framer.finish() {
            lines.append(Line(number: last.number, bytes: Array(last.bytes), length: last.length))
        }
        #expect(framer.finish() == nil, "a stream ends once")
        return lines
    }

    static let ugly: [UInt8] = Array("\u{FEFF}{\"a\":1}\r\n\n   \t\n{\"b\":\"é\"}\r\r\n\r\n{\"c\":[]}\n \t x \n\r{\"last\":true}".utf8)

    @Test func matchesTheOracleAtEveryChunkSize() {
        let expected = Self.oracle(Self.ugly)
        #expect(expected.map(\.number) == [1, 4, 6, 7, 8])
        for chunk in 1...(Self.ugly.count + 1) {
            #expect(Self.frame(Self.ugly, chunk: chunk) == expected, "chunk size \(chunk)")
        }
    }

    @Test func emptyBlankAndCROnlyInputs() {
        for input in ["", "\n", "\n\n\n", " \t \n", "\r\n", "\r", "\u{FEFF}", "\u{FEFF}\n"] {
            for chunk in 1...3 {
                #expect(Self.frame(Array(input.utf8), chunk: chunk).isEmpty, "\(Array(input.utf8)) chunk \(chunk)")
            }
        }
        // A file of only `\r`s is one line whose one trailing `\r` is removed: a record.
        let crs = Self.frame(Array("\r\r\r".utf8), chunk: 2)
        #expect(crs == [Line(number: 1, bytes: [0x0D, 0x0D], length: 2)])
    }

    @Test func aLineSpanningChunksPastTheLimitIsCutButMeasured() {
        let long = [UInt8](repeating: 0x41, count: 10_000) + [0x0A] + Array("{}\n".utf8)
        for chunk in [1, 7, 4096, 20_000] {
            let lines = Self.frame(long, chunk: chunk, maxLineBytes: 100)
            #expect(lines.count == 2)
            #expect(lines[0].length == 10_000)
            #expect(lines[0].bytes.count <= 10_000 && lines[0].bytes.allSatisfy { $0 == 0x41 })
            #expect(lines[1] == Line(number: 2, bytes: [0x7B, 0x7D], length: 2))
        }
        // Exactly the limit plus a `\r` is not too long, even when carried.
        let edge = [UInt8](repeating: 0x42, count: 100) + [0x0D, 0x0A]
        for chunk in [1, 50, 101, 102, 200] {
            #expect(Self.frame(edge, chunk: chunk, maxLineBytes: 100) == [Line(number: 1, bytes: Array(edge.prefix(100)), length: 100)])
        }
    }

    /// A first line with a byte-order mark, right at the limit, arrives whole.
    @Test func aByteOrderMarkDoesNotCountAgainstTheCarriedLimit() {
        let body = [UInt8](repeating: 0x41, count: 100)
        let input = [0xEF, 0xBB, 0xBF] + body + [0x0D, 0x0A] + body + [0x0A]
        for chunk in [1, 2, 50, 103, 104, 1000] {
            #expect(Self.frame(input, chunk: chunk, maxLineBytes: 100)
                    == [Line(number: 1, bytes: body, length: 100), Line(number: 2, bytes: body, length: 100)], "chunk \(chunk)")
        }
    }

    @Test func aLongBlankLineIsSkippedEvenPastTheLimit() {
        let blank = [UInt8](repeating: 0x20, count: 5000) + [0x0D, 0x0A] + Array("{}".utf8)
        for chunk in [1, 999, 6000] {
            #expect(Self.frame(blank, chunk: chunk, maxLineBytes: 10) == [Line(number: 2, bytes: [0x7B, 0x7D], length: 2)])
        }
    }

    @Test func randomInputsMatchTheOracle() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x0A, 0x0D, 0x20, 0x09, 0x7B, 0x7D, 0x41, 0xEF, 0xBB, 0xBF]
        for _ in 0..<300 {
            let input = (0..<Int.random(in: 0...80, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            let expected = Self.oracle(input)
            for chunk in [1, 2, 3, 5, 64] {
                #expect(Self.frame(input, chunk: chunk) == expected, "\(input) chunk \(chunk)")
            }
        }
    }
}
