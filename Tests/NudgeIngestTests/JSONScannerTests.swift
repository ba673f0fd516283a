import Testing
@testable import NudgeIngest

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
}
