import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore

#if canImport(Glibc)
import Glibc
#endif

/// The scanner on hand-made lines; `DifferentialTests` compares it with Python on generated ones.
@Suite struct JSONScannerTests {
    func scan(_ bytes: [UInt8]) -> (ScanOutcome, ScannedEvent) {
        var event = ScannedEvent()
        let outcome = bytes.withUnsafeBytes { JSONScanner().scan($0, into: &event) }
        return (outcome, event)
    }

    func decodedString(_ span: JSONSpan, _ bytes: [UInt8]) -> String? {
        guard span.kind == .string else { return nil }
        return bytes.withUnsafeBytes { String(decoding: JSONString.decode(span.content(in: $0)), as: UTF8.self) }
    }

    @Test func extractsTheFieldsTheRulesRead() throws {
        let line = Array("""
            {"context":{"timezone":"Europe/Berlin","x":{"timezone":"no"}},"type":"identify","userId":42,\
            "traits":{"name":"N","deep":{"email":"no"},"email":"e@x","phone":"+1"},"anonymousId":"a\\"b",\
            "messageId":"m","timestamp":"t","event":"e","previousId":"p","properties":{"k":[1,2]}}
            """.utf8)
        let (outcome, event) = scan(line)
        #expect(outcome == .object)
        #expect(decodedString(event.type, line) == "identify")
        #expect(event.userId.kind == .number && event.userId.isInteger)
        #expect(decodedString(event.anonymousId, line) == "a\"b")
        #expect(decodedString(event.traitsName, line) == "N")
        #expect(decodedString(event.traitsEmail, line) == "e@x")
        #expect(decodedString(event.traitsPhone, line) == "+1")
        #expect(decodedString(event.contextTimezone, line) == "Europe/Berlin")
        #expect(decodedString(event.previousId, line) == "p")
        let props = line.withUnsafeBytes { String(decoding: event.properties.text(in: $0), as: UTF8.self) }
        #expect(props == "{\"k\":[1,2]}")
        #expect(event.traits.kind == .object && event.context.kind == .object)
    }

    @Test func nestedFieldsAreOnlyReadFromTheLastObject() {
        let line = Array("{\"traits\":{\"email\":\"old\"},\"traits\":{\"name\":\"n\"},\"context\":{\"timezone\":\"A\"},\"context\":[]}".utf8)
        let (_, event) = scan(line)
        #expect(event.traitsEmail.kind == .absent)
        #expect(decodedString(event.traitsName, line) == "n")
        #expect(event.contextTimezone.kind == .absent)
        #expect(event.context.kind == .array)
    }

    @Test func surrogatePairsAndEscapesDecode() {
        let line = Array(#"{"type":"\ud83d\ude00 \u00e9\/\\\"\n\t\b\f\r","userId":"\u0041"}"#.utf8)
        let (outcome, event) = scan(line)
        #expect(outcome == .object)
        #expect(decodedString(event.type, line) == "😀 é/\\\"\n\t\u{8}\u{c}\r")
        #expect(decodedString(event.userId, line) == "A")
    }

    /// Lines that probe every corner of the grammar, with RFC 8259's verdict.
    static let probes: [(String, Bool)] = [
        ("{}", true), ("[]", true), ("{\"a\":[]}", true), ("{\"a\":{}}", true), ("{ \"a\" : 1 , \"b\" : [ 1 , 2 ] }", true),
        ("\t{\"a\":1}\r", true), ("{\"a\":-0}", true), ("{\"a\":-0.0e-0}", true), ("{\"a\":1E+2}", true),
        ("{\"a\":1e400}", true), ("{\"a\":0.5}", true), ("{\"a\":123456789012345678901234567890}", true),
        ("{\"a\":true,\"b\":false,\"c\":null}", true), ("{\"a\":\"\\u0000\"}", true), ("{\"\":\"\"}", true),
        ("{\"a\":\"\\uD834\\uDD1E\"}", true), ("{\"a\":\"\u{7F}\"}", true), ("{\"a\":\"\u{10FFFF}\"}", true),
        ("{\"a\":\"\u{2028}\"}", true), ("\"s\"", true), ("0", true),
        ("{\"a\":-}", false), ("{\"a\":--1}", false), ("{\"a\":.5}", false), ("{\"a\":5.}", false), ("{\"a\":0x10}", false),
        ("{\"a\":1e}", false), ("{\"a\":1e+}", false), ("{\"a\":00}", false), ("{\"a\":tru}", false), ("{\"a\":nul}", false),
        ("{\"a\":falsey}", false), ("{\"a\" \"b\"}", false), ("{\"a\":1 \"b\":2}", false), ("{,}", false),
        ("{\"a\":1,,\"b\":2}", false), ("[1,]", false), ("[,1]", false), ("{\"a\":[}", false), ("{\"a\":]}", false),
        ("{]", false), ("[}", false), ("{\"a\":\"\\q\"}", false), ("{\"a\":\"\\u12\"}", false), ("{\"a\":\"\\u12G4\"}", false),
        ("{\"a\":\"unterminated}", false), ("\"\\", false), ("{\"a\":1}}", false), ("{\"a\":1}]", false), ("nul", false),
        ("1 2", false), ("", false), (" ", false), ("{\"a\":NaN}", false), ("{\"a\":-Infinity}", false),
        ("{\"a\":\"\\uDD1E\\uD834\"}", false), ("{\"a\":\"\\uD834x\"}", false), ("{\"a\":\"\\uD834\\u0041\"}", false),
        ("{\"a\":1}\u{0}", false), ("{\"a\"\u{A0}:1}", false),
    ]

    @Test func probesGetRFC8259sVerdict() {
        for (line, expected) in Self.probes {
            let (outcome, _) = scan(Array(line.utf8))
            let valid = if case .malformed = outcome { false } else { true }
            #expect(valid == expected, "\(line)")
        }
    }

    // MARK: 16-byte block paths

    /// Every span of `event`, in a fixed order, for comparing scans.
    static func spans(_ event: ScannedEvent) -> [JSONSpan] {
        [event.type, event.event, event.userId, event.anonymousId, event.messageId, event.timestamp, event.previousId,
         event.traits, event.properties, event.context, event.traitsName, event.traitsEmail, event.traitsPhone,
         event.contextTimezone]
    }

    /// Scans `bytes` placed so that the line's last byte is the last readable byte before
    /// a page the process may not read: a scanner that reads one byte past the line
    /// crashes the test. Also scans with the byte-at-a-time reference and expects the
    /// same outcome and spans.
    func guardedScan(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> (ScanOutcome, ScannedEvent) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let pages = (bytes.count + page - 1) / page + 1
        let mapping = mmap(nil, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        precondition(mapping != MAP_FAILED)
        defer { munmap(mapping, pages * page) }
        precondition(mprotect(mapping + (pages - 1) * page, page, PROT_NONE) == 0)
        let start = mapping + (pages - 1) * page - bytes.count
        bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(start), byteCount: bytes.count) }
        let line = UnsafeRawBufferPointer(start: start, count: bytes.count)
        var event = ScannedEvent()
        let outcome = JSONScanner().scan(line, into: &event)
        var reference = ScannedEvent()
        let referenceOutcome = ScalarReferenceScanner().scan(line, into: &reference)
        #expect(outcome == referenceOutcome, "\(bytes)", sourceLocation: sourceLocation)
        #expect(Self.spans(event) == Self.spans(reference), "\(bytes)", sourceLocation: sourceLocation)
        return (outcome, event)
    }

    static func malformed(_ offset: Int, _ problem: JSONSyntaxError.Problem) -> ScanOutcome {
        .malformed(JSONSyntaxError(offset: offset, problem: problem))
    }

    /// `{"type":"` after `shift` spaces; the string's content starts at the returned offset.
    static func typePrefix(shift: Int) -> ([UInt8], Int) {
        let prefix = Array(repeating: UInt8(0x20), count: shift) + Array(#"{"type":""#.utf8)
        return (prefix, prefix.count)
    }

    @Test func specialBytesAtEveryPositionOfALongString() {
        let a = UInt8(ascii: "a"), b = UInt8(ascii: "b")
        for shift in 0..<16 {
            let (prefix, content) = Self.typePrefix(shift: shift)
            for position in 0...40 {
                let before = prefix + Array(repeating: a, count: position)
                let after = Array(repeating: b, count: 30)
                let special = content + position

                // The closing quote, then another long string.
                var line = before + [0x22] + Array(#","event":""#.utf8)
                let eventStart = line.count - 1
                line += after + Array(#""}"#.utf8)
                var (outcome, event) = guardedScan(line)
                #expect(outcome == .object)
                #expect(event.type == JSONSpan(start: content - 1, end: special + 1, kind: .string))
                #expect(event.event == JSONSpan(start: eventStart, end: eventStart + 32, kind: .string))

                // An escape, a two-byte UTF-8 character.
                for (inside, escapes) in [(Array(#"\n"#.utf8), true), (Array(#"\u00e9"#.utf8), true), ([0xC3, 0xA9], false)] {
                    line = before + inside + after + Array(#""}"#.utf8)
                    (outcome, event) = guardedScan(line)
                    #expect(outcome == .object)
                    #expect(event.type == JSONSpan(start: content - 1, end: line.count - 1, kind: .string, hasEscapes: escapes))
                }

                // Bytes a string cannot hold, with the error at their offset.
                for (byte, problem) in [(UInt8(0x01), JSONSyntaxError.Problem.controlCharacterInString(0x01)),
                                        (0x1F, .controlCharacterInString(0x1F)), (0x80, .invalidUTF8),
                                        (0xC0, .invalidUTF8), (0xFF, .invalidUTF8)] {
                    line = before + [byte] + after + Array(#""}"#.utf8)
                    #expect(guardedScan(line).0 == Self.malformed(special, problem), "byte \(byte) at \(position)")
                }
                // A bad escape, and a backslash that ends the line.
                #expect(guardedScan(before + Array(#"\x"#.utf8) + after).0 == Self.malformed(special, .invalidEscape))
                #expect(guardedScan(before + [0x5C]).0 == Self.malformed(special, .unexpectedEnd))
            }
        }
    }

    @Test func utf8SequencesStraddlingABlockBoundary() {
        let valid: [[UInt8]] = [
            [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF],
            [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], [0xE2, 0x98, 0x95, 0xF0, 0x9F, 0x98, 0x80, 0xC3, 0xA9],
        ]
        // Overlong, surrogate, above U+10FFFF, bad leads, a lone continuation byte.
        let invalid: [[UInt8]] = [
            [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF], [0xF0, 0x80, 0x80, 0x80],
            [0xF0, 0x8F, 0xBF, 0xBF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80],
            [0xF5, 0x80, 0x80, 0x80], [0xFF], [0x80], [0xBF], [0xC3, 0x41], [0xE2, 0x98, 0x41], [0xF0, 0x9F, 0x98, 0x41],
        ]
        let a = UInt8(ascii: "a"), tail = Array(repeating: UInt8(ascii: "b"), count: 20) + Array(#""}"#.utf8)
        for shift in [0, 3, 7] {
            let (prefix, content) = Self.typePrefix(shift: shift)
            for position in 0...40 {
                let before = prefix + Array(repeating: a, count: position)
                for sequence in valid {
                    let line = before + sequence + tail
                    let (outcome, event) = guardedScan(line)
                    #expect(outcome == .object, "\(sequence) at \(position)")
                    #expect(event.type == JSONSpan(start: content - 1, end: line.count - 1, kind: .string))
                    // Cut short, by the line's end or by an ASCII byte: the lead byte is at fault.
                    for cut in 1..<sequence.count where sequence[cut] & 0xC0 == 0x80 {
                        let lead = sequence[..<cut].lastIndex { $0 >= 0xC0 }!
                        let at = content + position + lead
                        #expect(guardedScan(before + sequence[..<cut]).0 == Self.malformed(at, .invalidUTF8))
                        #expect(guardedScan(before + sequence[..<cut] + tail).0 == Self.malformed(at, .invalidUTF8))
                    }
                }
                for sequence in invalid {
                    let line = before + sequence + tail
                    #expect(guardedScan(line).0 == Self.malformed(content + position, .invalidUTF8), "\(sequence) at \(position)")
                    // After valid non-ASCII text: the error is still at the bad sequence.
                    let afterText = before + [0xC3, 0xA9] + sequence + tail
                    #expect(guardedScan(afterText).0 == Self.malformed(content + position + 2, .invalidUTF8))
                }
            }
        }
    }

    @Test func controlCharactersAtEveryOffsetOfABlock() {
        let (prefix, content) = Self.typePrefix(shift: 0)
        for position in 0..<40 {
            let before = prefix + Array(repeating: UInt8(ascii: "x"), count: position)
            for byte in UInt8(0)..<0x20 {
                let line = before + [byte] + Array(repeating: UInt8(ascii: "y"), count: 24) + Array(#""}"#.utf8)
                #expect(guardedScan(line).0 == Self.malformed(content + position, .controlCharacterInString(byte)))
            }
            // DEL and space are plain.
            for byte: UInt8 in [0x20, 0x7F] {
                let line = before + [byte] + Array(repeating: UInt8(ascii: "y"), count: 24) + Array(#""}"#.utf8)
                #expect(guardedScan(line).0 == .object)
            }
        }
    }

    @Test func linesEndingInsideAStringOfEveryLength() {
        let (prefix, _) = Self.typePrefix(shift: 0)
        for length in 0..<50 {
            let line = prefix + Array(repeating: UInt8(ascii: "z"), count: length)
            #expect(guardedScan(line).0 == Self.malformed(line.count, .unexpectedEnd))
            let closed = line + Array(#""}"#.utf8)
            let (outcome, event) = guardedScan(closed)
            #expect(outcome == .object)
            #expect(event.type == JSONSpan(start: prefix.count - 1, end: closed.count - 1, kind: .string))
            #expect(guardedScan(closed + [0x20, 0x20]).0 == .object)
            #expect(guardedScan(closed + [0x20, 0x0B]).0 == Self.malformed(closed.count + 1, .trailingContent))
        }
    }

    @Test func whitespaceRunsOfEveryLength() {
        let runs: [UInt8] = [0x20, 0x09, 0x0A, 0x0D]
        for length in 0...40 {
            let space = (0..<length).map { runs[$0 % runs.count] }
            var line: [UInt8] = space + [0x7B] + space
            line += Array(#""type""#.utf8) + space + [0x3A] + space
            let typeStart = line.count
            line += Array(#""track""#.utf8)
            let typeEnd = line.count
            line += space + [0x2C] + space + Array(#""userId""#.utf8) + space + [0x3A] + space
            let userStart = line.count
            line += Array("1234567".utf8)
            let userEnd = line.count
            line += space + [0x2C] + space + Array(#""traits""#.utf8) + space + [0x3A] + space
            let traitsStart = line.count
            line += [0x5B] + space + [0x5D]
            let traitsEnd = line.count
            line += space + [0x7D] + space
            let (outcome, event) = guardedScan(line)
            #expect(outcome == .object, "\(length)")
            #expect(event.type == JSONSpan(start: typeStart, end: typeEnd, kind: .string))
            #expect(event.userId == JSONSpan(start: userStart, end: userEnd, kind: .number, isInteger: true))
            #expect(event.traits == JSONSpan(start: traitsStart, end: traitsEnd, kind: .array))
            // A byte that looks like white space but is not JSON's, ending a run.
            for odd: UInt8 in [0x0B, 0x0C, 0x00, 0xA0] {
                let bad = [0x7B] + space + [odd] + Array(#""a":1}"#.utf8)
                #expect(guardedScan(bad).0 == Self.malformed(1 + length, .expectedKey), "\(odd) after \(length)")
                let badValue = Array(#"{"a":"#.utf8) + space + [odd]
                #expect(guardedScan(badValue).0 == Self.malformed(5 + length, .unexpectedByte(odd)))
            }
            #expect(guardedScan(space).0 == Self.malformed(length, .unexpectedEnd))
        }
    }

    @Test func digitRunsOfEveryLength() {
        for length in 1...40 {
            let digits = (0..<length).map { UInt8(ascii: "1") + UInt8($0 % 9) }
            for (suffix, integer) in [("", true), (".5", false), ("e10", false), (".25E-3", false)] {
                for sign in ["", "-"] {
                    let number = Array(sign.utf8) + digits + Array(suffix.utf8)
                    let line = Array(#"{"userId":"#.utf8) + number + [0x7D]
                    let (outcome, event) = guardedScan(line)
                    #expect(outcome == .object)
                    #expect(event.userId == JSONSpan(start: 10, end: 10 + number.count, kind: .number, isInteger: integer))
                    // The line ends in the number (a bare number at the root).
                    #expect(guardedScan(number).0 == .notAnObject(.number))
                }
            }
            let line = Array(#"{"userId":"#.utf8) + digits + Array("x}".utf8)
            #expect(guardedScan(line).0 == Self.malformed(10 + length, .expectedCommaOrEnd))
            #expect(guardedScan(Array(#"{"userId":"#.utf8) + digits + Array(".x}".utf8)).0
                    == Self.malformed(11 + length, .invalidNumber))
        }
    }

    /// Every prefix of Segment's published examples (so every line length, and every
    /// place for the line to end), and of lines with long runs, against the reference.
    @Test func everyPrefixMatchesTheScalarReference() throws {
        let corpus = try Data(contentsOf: segmentCorpus.appendingPathComponent("segment-spec-examples.ndjson"))
        var lines = [UInt8](corpus).split(separator: 0x0A).map(Array.init)
        lines.append(Array(#"{"type":"identify","traits":{"name":"Zoë Ω 😀 \u00e9\" x","email":"a@b.c"},"userId":"  spaced  "}"#.utf8))
        lines.append(Array("{\"context\":{\"timezone\":\"Europe/Berlin\"},\"n\":[12345678901234567890,-0.5e+7]}   \t\r\n".utf8))
        for line in lines {
            for end in 0...line.count {
                _ = guardedScan(Array(line[..<end]))
            }
        }
    }

    /// Generated events, and mutations of them, against the reference.
    @Test func generatedAndMutatedLinesMatchTheScalarReference() {
        var random = RandomJSON(seed: 0x5EED_B10C)
        for _ in 0..<3000 {
            let line = random.event()
            _ = guardedScan(line)
            _ = guardedScan(random.mutate(line))
        }
    }
}
