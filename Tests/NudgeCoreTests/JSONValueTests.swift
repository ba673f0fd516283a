import Foundation
import Testing
@testable import NudgeCore

/// The reader of the JSON files the tool writes and reads back (ledger lines,
/// checkpoints, key records, rejected records), checked against Foundation's parser
/// where they should agree.
@Suite struct JSONValueTests {
    func parse(_ text: String) throws(JSONReadError) -> JSONValue {
        try JSONValue(parsing: Array(text.utf8))
    }

    /// The error `body` throws; nil when it throws none.
    func problem(_ body: () throws -> Void) -> JSONReadError? {
        do { try body() } catch let error as JSONReadError { return error } catch {
            Issue.record("not a JSONReadError: \(error)")
        }
        return nil
    }

    @Test func readsTheMembersOfAnObjectByKind() throws {
        let object = try parse(#" { "a" : 1, "b":"two", "c":[1, -2 ,3], "d":{"e":null}, "f":true, "g":[] } "#).object()
        #expect(try object.int("a") == 1)
        #expect(try object.string("b") == "two")
        #expect(try object.ints("c") == [1, -2, 3])
        #expect(try object.object("d")["e"]?.isNull == true)
        #expect(object["f"]?.kind == .true)
        #expect(try object.array("g").isEmpty)
        #expect(object["missing"] == nil)
    }

    @Test func decodesEscapesInStringsAndKeys() throws {
        let object = try parse(#"{"t\u00e9xt":"a\"b\\c\/d\n\t\u00e9\ud83d\ude00","plain":"é"}"#).object()
        #expect(try object.string("téxt") == "a\"b\\c/d\n\té😀")
        #expect(try object.string("plain") == "é")
        #expect(try parse(#""just a string""#).string() == "just a string")
    }

    @Test func readsNestedObjectsAndArraysOfObjects() throws {
        let text = #"{"inputs":[{"path":"a","size":1},{"path":"b","size":2,"extra":{"deep":[[{}]]}}],"n":{"m":{"k":"v"}}}"#
        let object = try parse(text).object()
        let inputs = try object.array("inputs").map { try $0.object() }
        #expect(try inputs.map { try $0.string("path") } == ["a", "b"])
        #expect(try inputs.map { try $0.int("size") } == [1, 2])
        #expect(try object.object("n").object("m").string("k") == "v")
    }

    @Test func readsIntegersAndRefusesOtherNumbers() throws {
        let object = try parse(#"{"zero":0,"neg":-42,"max":9223372036854775807,"exp":1e2,"whole":2.0,"frac":2.5,"big":92233720368547758070}"#).object()
        #expect(try object.int("zero") == 0)
        #expect(try object.int("neg") == -42)
        #expect(try object.int("max") == Int.max)
        #expect(try object.int("exp") == 100)
        #expect(try object.int("whole") == 2)
        #expect(problem { _ = try object.int("frac") } == JSONReadError(member: "frac", .notAnInteger))
        #expect(problem { _ = try object.int("big") } == JSONReadError(member: "big", .notAnInteger))
    }

    @Test func aRepeatedKeyKeepsItsLastValue() throws {
        #expect(try parse(#"{"a":1,"a":2}"#).object().int("a") == 2)
    }

    @Test func namesTheMemberThatIsMissingOrOfAnotherKind() throws {
        let object = try parse(#"{"s":"x","n":1,"o":{"inner":5},"nothing":null,"kind":"weird"}"#).object()
        #expect(problem { _ = try object.string("absent") } == JSONReadError(member: "absent", .missing))
        #expect(problem { _ = try object.string("n") } == JSONReadError(member: "n", .wrongKind(expected: .string, found: .number)))
        #expect(problem { _ = try object.int("s") } == JSONReadError(member: "s", .wrongKind(expected: .number, found: .string)))
        #expect(problem { _ = try object.object("o").string("inner") }
                == JSONReadError(member: "inner", .wrongKind(expected: .string, found: .number)))
        #expect(problem { _ = try object.strings("o") } == JSONReadError(member: "o", .wrongKind(expected: .array, found: .object)))
        #expect(problem { _ = try object.value("kind", as: Kind.self) } == JSONReadError(member: "kind", .unknownValue))
        #expect(try object.optionalString("nothing") == nil)
        #expect(try object.optionalString("absent") == nil)
        #expect(try object.optionalString("s") == "x")
        #expect(try object.optionalInt("n") == 1)
        #expect(problem { _ = try object.optionalString("n") } != nil)
        #expect(JSONReadError(member: "n", .wrongKind(expected: .string, found: .number)).description
                == "member \"n\" is a number, not a string")
    }

    enum Kind: String { case live, test }

    @Test func refusesWhatIsNotStrictJSON() {
        for text in ["", "   ", "{", #"{"a":1,}"#, #"{"a":01}"#, #"{"a":NaN}"#, #"{"a":"\x"}"#, #"{"a":"\ud800"}"#,
                     "{\"a\":\"\u{1}\"}", #"{"a":1} x"#, "{'a':1}", #"{"a" 1}"#, "[1 2]", "tru", #"{"a":1}{"#] {
            guard case .syntax = problem({ _ = try parse(text) })?.problem else {
                Issue.record("accepted \(text.debugDescription)")
                continue
            }
        }
        #expect(problem { _ = try JSONValue(parsing: [0x22, 0xFF, 0x22]) }.map { $0.problem } == .syntax(JSONSyntaxError(offset: 1, problem: .invalidUTF8)))
        let deep = String(repeating: "[", count: 1001) + String(repeating: "]", count: 1001)
        #expect(problem { _ = try parse(deep) }.map { "\($0)".contains("nesting") } == true)
    }

    /// Where Foundation's parser reads a document, this reader reads the same values.
    @Test func agreesWithFoundationOnTheDocumentsTheToolWrites() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.value("text", "quote \" backslash \\ newline \n tab \t control \u{1} é 😀 \u{2028}")
        writer.value("number", 1234567890123)
        writer.value("negative", -7)
        writer.value("nothing", nil as String?)
        writer.array("list", [3, 1, 2])
        writer.array("names", ["a", "b\"", "ü"])
        writer.beginObject("nested")
        writer.value("deeper", "yes")
        writer.endObject()
        writer.endObject()
        let bytes = writer.line
        let oracle = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let object = try JSONValue(parsing: bytes).object()
        #expect(try object.string("text") == oracle["text"] as? String)
        #expect(try object.int("number") == oracle["number"] as? Int)
        #expect(try object.int("negative") == oracle["negative"] as? Int)
        #expect(object["nothing"]?.isNull == true)
        #expect(try object.ints("list") == oracle["list"] as? [Int])
        #expect(try object.strings("names") == oracle["names"] as? [String])
        #expect(try object.object("nested").string("deeper") == "yes")
    }
}
