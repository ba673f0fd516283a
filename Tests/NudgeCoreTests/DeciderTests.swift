import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore

/// The contract's rules, one by one, on real lines through the decide-and-write stage.
@Suite struct DeciderTests {
    let ts = "\"timestamp\":\"2025-05-14T07:30:00Z\""

    func identify(_ userId: String, _ extra: String = "") -> String {
        "{\"type\":\"identify\",\"userId\":\(userId)\(extra.isEmpty ? "" : "," + extra)}"
    }

    func track(_ userId: String?, event: String = "\"Clicked\"", _ extra: String = "") -> String {
        var fields = ["\"type\":\"track\"", "\"event\":\(event)", ts]
        if let userId { fields.append("\"userId\":\(userId)") }
        if !extra.isEmpty { fields.append(extra) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    func codes(_ lines: [String]) throws -> [String] {
        try InMemoryRun(lines.joined(separator: "\n")).codes
    }

    @Test func rule1LineTooLongIsCountedAfterRemovingCR() throws {
        let line = identify("\"u1\"")
        let run = try InMemoryRun(line + "\r\n" + line.replacingOccurrences(of: "u1", with: "u22") + "\n",
                                  maxLineBytes: line.count)
        #expect(run.codes == ["accepted:identify", "dropped:line_too_long"])
        let dropped = run.dropped[0]
        #expect(dropped["raw_truncated"] as? Bool == false)
        #expect((dropped["detail"] as? String)?.contains("--max-line-bytes") == true)
    }

    @Test func rule1LongRawIsCutAtACharacterBoundary() throws {
        let long = "{\"type\":\"identify\",\"userId\":\"u\",\"pad\":\"" + String(repeating: "é", count: 5000) + "\"}"
        let run = try InMemoryRun(long, maxLineBytes: 4000)
        #expect(run.codes == ["dropped:line_too_long"])
        let raw = try #require(run.dropped[0]["raw"] as? String)
        #expect(raw.utf8.count <= RecordLimits.rawBytes)
        #expect(!raw.contains("\u{FFFD}"))
        #expect(long.hasPrefix(raw))
        #expect(run.dropped[0]["raw_truncated"] as? Bool == true)
    }

    /// `raw` of a cut line holds at most 4096 bytes as written, invalid bytes counted as
    /// their 3-byte U+FFFD, whether the line lay in one chunk or was carried across many.
    @Test(arguments: [nil, 1, 333, 5000])
    func rule1RawIsBoundedAsWritten(chunk: Int?) throws {
        var line = Array("{\"type\":\"track\",\"pad\":\"".utf8)
        for i in 0..<3000 { line += i % 3 == 0 ? [0xFF] : Array("ü".utf8) }
        line += Array("\"}\n{}\n".utf8)
        let run = try InMemoryRun(bytes: line, maxLineBytes: 100, chunk: chunk)
        #expect(run.codes == ["dropped:line_too_long", "dropped:missing_type"])
        let raw = try #require(run.dropped[0]["raw"] as? String)
        #expect(raw.utf8.count <= 4096 && raw.utf8.count > 4090)
        #expect(raw.hasPrefix("{\"type\":\"track\",\"pad\":\"\u{FFFD}üü\u{FFFD}"))
        #expect(run.dropped[0]["raw_truncated"] as? Bool == true)
    }

    @Test(arguments: [
        "{\"type\":\"identify\"", "{\"a\":NaN}", "{\"a\":1,}", "{\"a\":[1,]}", "{\"a\":01}", "{\"a\":-}",
        "{\"a\":1.}", "{\"a\":1e}", "{'a':1}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\\ud800\"}",
        "{\"a\":\"\\x41\"}", "{\"a\":\"tab\there\"}", "{\"a\":1} // c", "{\"a\":1}{}", "{\"a\":True}",
        "{\"a\" 1}", "{1:2}", "{\"a\":Infinity}", "{\"a\":+1}",
    ])
    func rule2MalformedJSON(line: String) throws {
        #expect(try codes([line]) == ["dropped:malformed_json"])
    }

    @Test func rule2InvalidUTF8InAStringIsMalformedAndRawIsRepaired() throws {
        var bytes = Array("{\"type\":\"identify\",\"userId\":\"u".utf8)
        bytes += [0xC3, 0x28]  // a lead byte without its continuation
        bytes += Array("\"}".utf8)
        let run = try InMemoryRun(bytes: bytes)
        #expect(run.codes == ["dropped:malformed_json"])
        #expect(run.dropped[0]["raw"] as? String == "{\"type\":\"identify\",\"userId\":\"u\u{FFFD}(\"}")
        for invalid: [UInt8] in [[0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF4, 0x90, 0x80, 0x80], [0xFF]] {
            let line = Array("{\"a\":\"".utf8) + invalid + Array("\"}".utf8)
            #expect(try InMemoryRun(bytes: line).codes == ["dropped:malformed_json"], "\(invalid)")
        }
    }

    @Test func aByteOrderMarkIsIgnoredOnlyAtTheStartOfAnInput() throws {
        let line = identify("\"u\"")
        #expect(try codes(["\u{feff}" + line, "\u{feff}" + line]) == ["accepted:identify", "dropped:malformed_json"])
    }

    @Test func rule2NestingLimitIsOneThousand() throws {
        let ok = "{\"a\":" + String(repeating: "[", count: 999) + String(repeating: "]", count: 999) + "}"
        let deep = "{\"a\":" + String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000) + "}"
        #expect(try codes([ok, deep]) == ["dropped:missing_type", "dropped:malformed_json"])
        let hostile = String(repeating: "[", count: 100_000)
        #expect(try codes([hostile]) == ["dropped:malformed_json"])
    }

    @Test func rule3NotAnObject() throws {
        #expect(try codes(["[1,2]", "42", "\"text\"", "null", "true"]) == Array(repeating: "dropped:not_an_object", count: 5))
    }

    @Test func rule4DuplicateMessageIdIsRememberedWhateverBecomesOfTheRecord() throws {
        let lines = [
            "{\"type\":\"page\",\"messageId\":\"m1\"}",
            identify("\"u1\"", "\"messageId\":\"m1\""),
            identify("\"u1\"", "\"messageId\":\"\\u006d2\""),
            identify("\"u1\"", "\"messageId\":\"m2\""),
            identify("\"u1\"", "\"messageId\":2"),
            identify("\"u1\"", "\"messageId\":2"),
        ]
        #expect(try codes(lines) == ["dropped:unsupported_type", "dropped:duplicate_message_id",
                                      "accepted:identify", "dropped:duplicate_message_id",
                                      "accepted:identify", "accepted:identify"])
        // A line dropped by rules 1-3 never reaches rule 4, so its messageId is not remembered.
        let run = try InMemoryRun("{\"messageId\":\"m9\",}\n" + identify("\"u\"", "\"messageId\":\"m9\""))
        #expect(run.codes == ["dropped:malformed_json", "accepted:identify"])
    }

    @Test func rule5MissingType() throws {
        #expect(try codes(["{\"userId\":\"u\"}", "{\"type\":7}", "{\"type\":null}", "{\"action\":\"track\"}"])
                == Array(repeating: "dropped:missing_type", count: 4))
    }

    @Test func rule6UnsupportedTypeIsCaseSensitive() throws {
        #expect(try codes(["{\"type\":\"page\"}", "{\"type\":\"Identify\",\"userId\":\"u\"}", "{\"type\":\"\"}", "{\"type\":\"delete\"}"])
                == Array(repeating: "dropped:unsupported_type", count: 4))
    }

    @Test func rule7IdentifyUserIdReasons() throws {
        let lines = [
            "{\"type\":\"identify\"}",
            "{\"type\":\"identify\",\"userId\":null,\"anonymousId\":\" \"}",
            "{\"type\":\"identify\",\"userId\":\"\\u00a0\\u3000\",\"anonymousId\":\"a1\"}",
            "{\"type\":\"identify\",\"anonymousId\":\"a1\"}",
            identify("42.0"), identify("4e1"), identify("true"), identify("{}"), identify("[\"u\"]"),
        ]
        #expect(try codes(lines) == ["dropped:missing_user_id", "dropped:missing_user_id", "dropped:anonymous_only",
                                      "dropped:anonymous_only"] + Array(repeating: "dropped:invalid_user_id", count: 5))
    }

    @Test func rule8IdentifyBody() throws {
        let line = identify("\"User 42\"", """
            "traits":{"name":"Zoë","email":"Z@X.COM","phone":5551234,"plan":"pro","created":"2025-05-14T09:30:00+02:00",\
            "nested":{"at":"2025-05-14T09:30:00-0130","z":"2025-05-14T09:30:00Z"}},"context":{"timezone":"Europe/Berlin"},\
            "messageId":"m-1"
            """)
        let run = try InMemoryRun(line)
        let body = try #require(run.onlyBody)
        #expect(body["ext_id"] as? String == "user_42")
        #expect(body["name"] as? String == "Zoë")
        #expect(body["email"] as? String == "Z@X.COM")
        #expect(body["phone"] as? String == "5551234")
        #expect(body["tz"] as? String == "Europe/Berlin")
        let props = try #require(body["props"] as? [String: Any])
        #expect(Set(props.keys) == ["plan", "created", "nested"])
        #expect(props["created"] as? String == "2025-05-14T07:30:00.000Z")
        #expect((props["nested"] as? [String: Any])?["at"] as? String == "2025-05-14T11:00:00.000Z")
        #expect((props["nested"] as? [String: Any])?["z"] as? String == "2025-05-14T09:30:00Z")
        #expect(run.accepted[0]["message_id"] as? String == "m-1")
        #expect(run.accepted[0]["resolved_via"] is NSNull)
        // Fields absent or of other types are left out; props is {} without traits.
        let bare = try InMemoryRun(identify("7", "\"traits\":{\"name\":null,\"email\":[1]},\"context\":{\"timezone\":1}"))
        let bareBody = try #require(bare.onlyBody)
        #expect(Set(bareBody.keys) == ["ext_id", "props"])
        #expect(bareBody["ext_id"] as? String == "7")
        #expect((try InMemoryRun(identify("\"u\"", "\"traits\":[1]")).onlyBody?["props"] as? [String: Any])?.isEmpty == true)
    }

    @Test func integerUserIdsKeepTheirJSONText() throws {
        let lines = [identify("-7"), identify("123456789012345678901234567890"), identify("0"),
                     track("-7"), track("123456789012345678901234567890")]
        let run = try InMemoryRun(lines.joined(separator: "\n"))
        #expect(run.codes == ["accepted:identify", "accepted:identify", "accepted:identify", "accepted:track", "accepted:track"])
        #expect(run.accepted.map { ($0["body"] as! [String: Any])["ext_id"] as! String }
                == ["-7", "123456789012345678901234567890", "0", "-7", "123456789012345678901234567890"])
    }

    @Test func rule9MissingEvent() throws {
        let lines = [identify("\"u\""), track("\"u\"", event: "\"\""), track("\"u\"", event: "\" \\t\\u2003\""),
                     track("\"u\"", event: "5"), "{\"type\":\"track\",\"userId\":\"u\",\(ts)}"]
        #expect(try codes(lines) == ["accepted:identify"] + Array(repeating: "dropped:missing_event", count: 4))
    }

    @Test func rule10TrackUserIdReasons() throws {
        let lines = [
            track(nil), track("null"), track("\" \""), track(nil, "\"anonymousId\":\"never-linked\""),
            track("1.5"), track("false"), track("1.5", "\"anonymousId\":\"a1\""),
        ]
        let run = try InMemoryRun(([identify("\"u\"", "\"anonymousId\":\"a1\"")] + lines).joined(separator: "\n"))
        #expect(run.codes == ["accepted:identify", "dropped:missing_user_id", "dropped:missing_user_id",
                              "dropped:missing_user_id", "dropped:anonymous_only", "dropped:invalid_user_id",
                              "dropped:invalid_user_id", "dropped:invalid_user_id"])
    }

    @Test func rule10BeforeRule11AndRule9BeforeRule10() throws {
        #expect(try codes(["{\"type\":\"track\"}", "{\"type\":\"track\",\"event\":\"e\"}"])
                == ["dropped:missing_event", "dropped:missing_user_id"])
    }

    @Test(arguments: [
        "\"2024-02-30T10:00:00Z\"", "\"2023-02-29T10:00:00Z\"", "\"2024-01-01T24:00:00Z\"", "\"2024-01-01T10:60:00Z\"",
        "\"2024-01-01T10:00:60Z\"", "\"2024-01-01T10:00:00\"", "\"2024-01-01 10:00:00Z\"", "\"2024-01-01T10:00:00.Z\"",
        "\"2024-01-01T10:00:00+24:00\"", "\"2024-01-01T10:00:00+05:60\"", "\"2024-01-01T10:00:00+5:00\"",
        "\" 2024-01-01T10:00:00Z\"", "\"2024-01-01T10:00:00Zx\"", "\"yesterday\"", "1716000000", "null", "\"2024-1-01T10:00:00Z\"",
    ])
    func rule11InvalidTimestamp(timestamp: String) throws {
        let line = "{\"type\":\"track\",\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\(timestamp)}"
        #expect(try codes([identify("\"u\""), line]) == ["accepted:identify", "dropped:invalid_timestamp"])
    }

    @Test func rule11TimestampAbsent() throws {
        #expect(try codes([identify("\"u\""), "{\"type\":\"track\",\"event\":\"e\",\"userId\":\"u\"}"])
                == ["accepted:identify", "dropped:invalid_timestamp"])
    }

    @Test func rule12NotIdentifiedMeansStrictlyEarlier() throws {
        let lines = [track("\"u1\""), identify("\"u1\""), track("\"u1\""), track("\"U1\""),
                     "{\"type\":\"alias\",\"userId\":\"u2\",\"previousId\":\"p2\"}", track(nil, "\"anonymousId\":\"p2\"")]
        #expect(try codes(lines) == ["dropped:not_identified", "accepted:identify", "accepted:track", "accepted:track",
                                      "dropped:unsupported_type", "dropped:not_identified"])
    }

    @Test func rule13TrackBody() throws {
        let lines = [identify("\"Ann Lee\""), track("\"Ann Lee\"", event: "\"Order Completed\"",
            "\"properties\":{\"total\":1.10,\"when\":\"2025-05-14T09:30:00.1239+02:00\",\"items\":[{\"at\":\"2025-01-01T00:00:00-0100\"}],\"e\":\"\\u00e9\"},\"messageId\":\"t-1\"")]
        let run = try InMemoryRun(lines.joined(separator: "\n"))
        let body = try #require(run.accepted.last?["body"] as? [String: Any])
        #expect(body["name"] as? String == "order_completed")
        #expect(body["ext_id"] as? String == "ann_lee")
        #expect(body["occurred_at"] as? String == "2025-05-14T07:30:00.000Z")
        let props = try #require(body["props"] as? [String: Any])
        #expect(props["when"] as? String == "2025-05-14T07:30:00.123Z")
        #expect(((props["items"] as? [[String: Any]])?.first?["at"]) as? String == "2025-01-01T01:00:00.000Z")
        #expect(props["e"] as? String == "é")
        // Values are copied as they came: the number's spelling and the escape survive.
        let text = String(decoding: run.acceptedBytes, as: UTF8.self)
        #expect(text.contains("\"total\":1.10"))
        #expect(text.contains("\"e\":\"\\u00e9\""))
        #expect(Set(body.keys) == ["name", "ext_id", "occurred_at", "props"])
    }

    @Test func identityResolutionThroughEveryKindOfLink() throws {
        let lines = [
            identify("\"u1\"", "\"anonymousId\":\"anon-1\",\"traits\":{\"email\":\"Ann@Example.COM\"}"),
            track(nil, "\"anonymousId\":\"anon-1\""),
            track(nil, "\"anonymousId\":\"ANN@example.com\""),
            "{\"type\":\"alias\",\"userId\":\"u1\",\"previousId\":\"old-device\"}",
            track(nil, "\"anonymousId\":\"old-device\""),
            track("\"\"", "\"anonymousId\":\"OLD-DEVICE\""),
        ]
        let run = try InMemoryRun(lines.joined(separator: "\n"))
        // The last track resolves through the lowercase fallback (Nudgespot sends emails as anonymousId).
        #expect(run.codes == ["accepted:identify", "accepted:track", "accepted:track", "dropped:unsupported_type",
                              "accepted:track", "accepted:track"])
        #expect(run.accepted.compactMap { $0["resolved_via"] as? String } == ["anonymous_id", "email", "alias", "alias"])
        #expect(run.accepted.dropFirst().allSatisfy { ($0["body"] as? [String: Any])?["ext_id"] as? String == "u1" })
    }

    @Test func aLaterLinkReplacesTheEarlierOne() throws {
        let lines = [
            identify("\"a\"", "\"anonymousId\":\"shared\""),
            identify("\"b\"", "\"anonymousId\":\"shared\""),
            track(nil, "\"anonymousId\":\"shared\""),
            "{\"type\":\"alias\",\"userId\":\"c\",\"previousId\":\"shared\"}",
            track(nil, "\"anonymousId\":\"shared\""),
        ]
        let run = try InMemoryRun(lines.joined(separator: "\n"))
        #expect(run.codes == ["accepted:identify", "accepted:identify", "accepted:track", "dropped:unsupported_type",
                              "dropped:not_identified"])
        #expect(run.accepted[2]["body"].flatMap { ($0 as? [String: Any])?["ext_id"] as? String } == "b")
    }

    @Test func aliasWithoutAValidUserIdLinksNothing() throws {
        let lines = [
            identify("\"u\""),
            "{\"type\":\"alias\",\"userId\":1.5,\"previousId\":\"p\"}",
            "{\"type\":\"alias\",\"userId\":\"u\",\"previousId\":\" \"}",
            "{\"type\":\"alias\",\"previousId\":\"p\"}",
            track(nil, "\"anonymousId\":\"p\""),
        ]
        #expect(try codes(lines) == ["accepted:identify"] + Array(repeating: "dropped:unsupported_type", count: 3)
                + ["dropped:anonymous_only"])
    }

    @Test func stringsCompareByDecodedCodePoints() throws {
        let lines = [
            identify("\"\\u0041nn\"", "\"anonymousId\":\"caf\\u00e9\""),
            track("\"ann\""),
            track(nil, "\"anonymousId\":\"café\""),
            track(nil, "\"anonymousId\":\"cafe\\u0301\""),  // NFD differs from NFC
            "{\"t\\u0079pe\":\"identify\",\"userId\":\"k\"}",  // an escaped key is the same key
        ]
        #expect(try codes(lines) == ["accepted:identify", "accepted:track", "accepted:track", "dropped:anonymous_only",
                                      "accepted:identify"])
    }

    /// Array elements beside `traits`/`context` must not be taken for their fields.
    @Test func nestedFieldsComeOnlyFromTheirOwnObject() throws {
        let lines = [
            identify("\"u1\"", "\"context\":{\"timezone\":\"Europe/Paris\"},\"tags\":[\"a\",\"b\"]"),
            identify("\"u2\"", "\"traits\":{\"email\":\"real@x.com\"},\"extra\":[\"evil@x.com\"]"),
            identify("\"u3\"", "\"traits\":{\"name\":\"A\"},\"traits\":[\"B\"]"),
            track(nil, "\"anonymousId\":\"evil@x.com\""),
            track(nil, "\"anonymousId\":\"real@x.com\""),
        ]
        let run = try InMemoryRun(lines.joined(separator: "\n"))
        #expect(run.codes == ["accepted:identify", "accepted:identify", "accepted:identify", "dropped:anonymous_only",
                              "accepted:track"])
        let bodies = run.accepted.map { $0["body"] as! [String: Any] }
        #expect(bodies[0]["tz"] as? String == "Europe/Paris")
        #expect(bodies[1]["email"] as? String == "real@x.com")
        #expect(bodies[2]["name"] == nil)
    }

    /// Every string the rules decode written with escapes, on one line: each is decoded
    /// once, within the decode arena's bound of one line's length.
    @Test func everyFieldTheRulesReadMayBeEscaped() throws {
        func escaped(_ text: String) -> String {
            "\"" + text.unicodeScalars.map { String(format: "\\u%04x", $0.value) }.joined() + "\""
        }
        let lines = [
            "{\"type\":\(escaped("identify")),\"userId\":\(escaped("U 1")),\"anonymousId\":\(escaped("a-1")),"
                + "\"messageId\":\(escaped("m-1")),\"traits\":{\"email\":\(escaped("E@X"))}}",
            "{\"type\":\(escaped("track")),\"anonymousId\":\(escaped("e@x")),\"event\":\(escaped("Big Event")),"
                + "\"messageId\":\(escaped("m-2")),\"timestamp\":\(escaped("2025-01-01T01:00:00+01:00"))}",
            "{\"type\":\(escaped("alias")),\"userId\":\(escaped("U 1")),\"previousId\":\(escaped("p-1"))}",
            "{\"type\":\(escaped("track")),\"userId\":\(escaped(" ")),\"anonymousId\":\(escaped("P-1")),"
                + "\"event\":\(escaped("e")),\"timestamp\":\(escaped("2025-02-30T00:00:00Z"))}",
        ]
        let run = try InMemoryRun(lines.joined(separator: "\n"))
        #expect(run.codes == ["accepted:identify", "accepted:track", "dropped:unsupported_type", "dropped:invalid_timestamp"])
        let body = try #require(run.accepted.last?["body"] as? [String: Any])
        #expect(body["ext_id"] as? String == "u_1" && body["name"] as? String == "big_event")
        #expect(body["occurred_at"] as? String == "2025-01-01T00:00:00.000Z")
        #expect(run.accepted.last?["resolved_via"] as? String == "email")
    }

    @Test func theLastOfARepeatedKeyWins() throws {
        let lines = [
            "{\"type\":\"page\",\"type\":\"identify\",\"userId\":5.5,\"userId\":\"u\",\"traits\":{\"email\":\"a@x\"},\"traits\":{\"name\":\"N\"}}",
            track("\"u\"", "\"properties\":{\"k\":1,\"j\":2,\"k\":3}"),
        ]
        let run = try InMemoryRun(lines.joined(separator: "\n"))
        #expect(run.codes == ["accepted:identify", "accepted:track"])
        let identifyBody = try #require(run.accepted[0]["body"] as? [String: Any])
        #expect(identifyBody["name"] as? String == "N")
        #expect(identifyBody["email"] == nil)
        // The repeated key stays at its first position with its last value, written once.
        #expect(String(decoding: run.acceptedBytes, as: UTF8.self).contains("\"props\":{\"k\":3,\"j\":2}"))
    }

    @Test func repeatedKeysAtScaleKeepFirstPositionsAndLastValues() throws {
        // 100,000 members repeating a few keys: must finish quickly and collapse exactly.
        var properties = (0..<100_000).map { "\"k\($0 % 3)\":\($0)" }.joined(separator: ",")
        properties += ",\"nested\":{\"x\":1,\"y\":2,\"x\":{\"z\":3,\"z\":4}}"
        let lines = [identify("\"u\""), track("\"u\"", "\"properties\":{\(properties)}")]
        let run = try InMemoryRun(lines.joined(separator: "\n"), maxLineBytes: 4 << 20)
        #expect(run.codes == ["accepted:identify", "accepted:track"])
        #expect(String(decoding: run.acceptedBytes, as: UTF8.self)
            .contains("\"props\":{\"k0\":99999,\"k1\":99997,\"k2\":99998,\"nested\":{\"x\":{\"z\":4},\"y\":2}}"))
    }

    @Test func sanitisingFollowsJavaScriptToLowerCase() throws {
        // Expected values printed by node: `s.replace(/ /g, "_").toLowerCase()`.
        let cases: [(String, String)] = [
            ("ΟΔΟΣ", "οδος"), ("ΟΔΟΣ ΑΒ", "οδος_αβ"), ("Σ", "σ"), ("ΑΣ.Β", "ασ.β"), ("İstanbul", "i̇stanbul"),
            ("ẞ Straße", "ß_straße"), ("User 42", "user_42"), ("ǅ", "ǆ"), ("ΌΣΟΣ's", "όσοσ's"), ("AΣ\u{301}", "aς\u{301}"),
            ("  Two  Spaces ", "__two__spaces_"),
        ]
        for (input, expected) in cases {
            var out: [UInt8] = []
            Array(input.utf8).withUnsafeBytes { UnicodeText.appendSanitized($0, to: &out) }
            #expect(String(decoding: out, as: UTF8.self) == expected, "\(input)")
        }
    }

    @Test func emailLinksAreLowercasedAndKeepTheirSpaces() throws {
        let lines = [
            identify("\"u\"", "\"traits\":{\"email\":\"Jack@Example.com \"}"),
            track(nil, "\"anonymousId\":\"jack@example.com \""),
            track(nil, "\"anonymousId\":\"jack@example.com\""),
        ]
        #expect(try codes(lines) == ["accepted:identify", "accepted:track", "dropped:anonymous_only"])
    }

    @Test func droppedRecordsCarryTypeEventAndMessageIdWhenStrings() throws {
        let run = try InMemoryRun(track("\"nobody\"", "\"messageId\":\"m\"") + "\n{\"type\":1,\"event\":[],\"messageId\":3}")
        #expect(run.dropped[0]["type"] as? String == "track")
        #expect(run.dropped[0]["event"] as? String == "Clicked")
        #expect(run.dropped[0]["message_id"] as? String == "m")
        #expect(run.dropped[1]["type"] is NSNull && run.dropped[1]["event"] is NSNull && run.dropped[1]["message_id"] is NSNull)
        #expect(run.dropped.allSatisfy { ($0["detail"] as? String).map { !$0.isEmpty && !$0.contains("\n") } == true })
    }

    /// Found by fuzzing (`Fuzz/Regressions/`): Foundation drops a U+FEFF that opens a
    /// key or a string value. The tool must not: inside a line it is text, so
    /// `"\u{FEFF}type"` is another key than `type`, and `raw` and `ext_id` keep it.
    @Test func aByteOrderMarkInsideALineIsText() throws {
        let run = try InMemoryRun("""
            {"type":"identify","userId":"u"}
            {"\u{FEFF}type":"identify","userId":"u"}
            {"type":"identify","userId":"\u{FEFF}v"}
            """)
        #expect(run.codes == ["accepted:identify", "dropped:missing_type", "accepted:identify"])
        let bom = "\u{FEFF}"
        #expect(String(decoding: run.droppedBytes, as: UTF8.self).contains("\"raw\":\"{\\\"\(bom)type\\\""))
        #expect(String(decoding: run.acceptedBytes, as: UTF8.self).contains("\"ext_id\":\"\(bom)v\""))
    }

    /// Found by fuzzing (`Fuzz/Regressions/`): numbers beyond a `Double` are valid JSON
    /// and are copied into `props` as written. Foundation cannot read such a spool line,
    /// so this test reads bytes, and Python's `json` must accept them.
    @Test func numbersBeyondADoubleAreCopiedAsWritten() throws {
        let props = #"{"big":5e1434,"tiny":-1E-999,"long":123456789012345678901234567890}"#
        let line = Array(#"{"type":"identify","userId":"u","traits":\#(props)}"#.utf8)
        var stage = RecordStage(maxLineBytes: 1 << 20)
        var accepted = OutputBuffer(capacity: 16), dropped = OutputBuffer(capacity: 16)
        line.withUnsafeBytes {
            _ = stage.decide(event: $0, line: 1, source: SourceFile(path: "f"), accepted: &accepted, dropped: &dropped)
        }
        let written = String(decoding: accepted.bytes, as: UTF8.self)
        #expect(dropped.isEmpty && written.contains("\"props\":\(props)"), "\(written)")
        let python = try runProgram("/usr/bin/env", ["python3", "-c", "import json,sys; json.loads(sys.stdin.read())"],
                                    stdin: Data(accepted.bytes))
        #expect(python.status == 0, "\(python.stderr)")
    }
}
