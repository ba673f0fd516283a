import Foundation
import Testing
@testable import NudgeIngest

/// The scanner's verdict and extracted fields against Foundation's parser as an oracle.
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

    /// Mutations of the published Segment examples (flipped, dropped and inserted
    /// bytes): the scanner's verdict must match Python's strict `json` on every line.
    @Test func mutatedLinesAgreeWithPython() throws {
        let corpus = try String(contentsOf: sharedCorpus.appendingPathComponent("segment-spec-examples.ndjson"), encoding: .utf8)
            .split(separator: "\n").map { Array($0.utf8) }
        var generator = SeededGenerator(seed: 20_261_124)
        let alphabet = Array("{}[]\",:\\/ 0123456789.eE+-tfnrulsabu\u{0}\t".utf8) + [0x80, 0xC3, 0xA9, 0xED, 0xF4, 0xFF]
        var lines: [[UInt8]] = []
        for _ in 0..<50_000 {
            var line = corpus[Int.random(in: 0..<corpus.count, using: &generator)]
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let at = Int.random(in: 0..<line.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: line[at] = alphabet.randomElement(using: &generator)!
                case 1: line.remove(at: at)
                default: line.insert(alphabet.randomElement(using: &generator)!, at: at)
                }
                if line.isEmpty { line = [0x7B] }
            }
            lines.append(line.filter { $0 != 0x0A })
        }
        let verdicts = try pythonVerdicts(lines)
        var disagreements: [String] = []
        var invalid = 0
        for (line, reference) in zip(lines, verdicts) {
            let (outcome, _) = scan(line)
            let valid = if case .malformed = outcome { false } else { true }
            if !valid { invalid += 1 }
            if valid != reference { disagreements.append(String(decoding: line, as: UTF8.self)) }
        }
        #expect(verdicts.count == lines.count)
        #expect(disagreements.isEmpty, "\(disagreements.prefix(3))")
        // The mutations must exercise both verdicts, or the test proves nothing.
        #expect(invalid > 10_000 && invalid < 45_000)
    }

    /// Python's strict `json` as the oracle: UTF-8 decoded strictly, NaN and Infinity
    /// refused, unpaired surrogates refused, as the contract's rule 2 says.
    func pythonVerdicts(_ lines: [[UInt8]]) throws -> [Bool] {
        let script = """
            import json, sys
            def bad_constant(name): raise ValueError(name)
            def strict(value):
                if isinstance(value, str):
                    value.encode('utf-8')
                elif isinstance(value, list):
                    for v in value: strict(v)
                elif isinstance(value, dict):
                    for k, v in value.items(): strict(k); strict(v)
            out = []
            for raw in sys.stdin.buffer.read().split(b'\\n')[:-1]:
                try:
                    strict(json.loads(raw.decode('utf-8'), parse_constant=bad_constant))
                    out.append('1')
                except (ValueError, UnicodeError, RecursionError):
                    out.append('0')
            print(''.join(out))
            """
        let input = Data(lines.map { $0 + [0x0A] }.joined())
        let result = try runProgram("/usr/bin/env", ["python3", "-c", script], stdin: input)
        try #require(result.status == 0, "python3: \(result.stderr)")
        return result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).map { $0 == "1" }
    }
}

/// A small deterministic generator (SplitMix64) so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
