/// A JSON document the tool wrote and reads back (a ledger line, a replay checkpoint,
/// an API key, a rejected record), or one value in it.
///
/// The whole document is checked by ``JSONScanner`` first (strict RFC 8259, UTF-8,
/// nesting bounded by ``JSONScanner/maxDepth``), so reading it can only find members
/// missing or of another kind, which the typed accessors report as ``JSONReadError``s.
/// A value is a range of the document's bytes: nothing is decoded until it is asked for.
package struct JSONValue: Sendable {
    /// The whole document, shared by every value read from it.
    private let document: [UInt8]
    private let range: Range<Int>
    package let kind: JSONKind

    /// Checks `bytes` as one JSON document (whitespace around it allowed) and returns
    /// its root.
    package init(parsing bytes: some Collection<UInt8>) throws(JSONReadError) {
        let document = Array(bytes)
        var event = ScannedEvent()
        let outcome = document.withUnsafeBytes { JSONScanner().scan($0, into: &event) }
        if case .malformed(let error) = outcome { throw JSONReadError(.syntax(error)) }
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        // The scanner found a value, so there is a byte that is not whitespace.
        let start = document.firstIndex { !isSpace($0) }!
        let end = document.lastIndex { !isSpace($0) }! + 1
        self.init(document: document, range: start..<end)
    }

    private init(document: [UInt8], range: Range<Int>) {
        self.document = document
        self.range = range
        switch document[range.lowerBound] {
        case 0x22: kind = .string
        case 0x7B: kind = .object
        case 0x5B: kind = .array
        case 0x74: kind = .true
        case 0x66: kind = .false
        case 0x6E: kind = .null
        default: kind = .number
        }
    }

    package var isNull: Bool { kind == .null }

    /// The decoded text of a string.
    package func string() throws(JSONReadError) -> String {
        guard kind == .string else { throw JSONReadError(.wrongKind(expected: .string, found: kind)) }
        return document.withUnsafeBytes { bytes in
            String(decoding: JSONString.decode(UnsafeRawBufferPointer(rebasing: bytes[(range.lowerBound + 1)..<(range.upperBound - 1)])),
                   as: UTF8.self)
        }
    }

    /// An integer: a number written without a fraction (or whose fraction is zero, as
    /// `2.0`) that an `Int` holds.
    package func int() throws(JSONReadError) -> Int {
        guard kind == .number else { throw JSONReadError(.wrongKind(expected: .number, found: kind)) }
        let text = String(decoding: document[range], as: UTF8.self)
        guard let value = Int(text) ?? Double(text).flatMap(Int.init(exactly:)) else {
            throw JSONReadError(.notAnInteger)
        }
        return value
    }

    /// The members of an object, by their decoded keys; of a key given twice, the last
    /// one counts (as in JavaScript).
    package func object() throws(JSONReadError) -> JSONObject {
        guard kind == .object else { throw JSONReadError(.wrongKind(expected: .object, found: kind)) }
        var members: [String: JSONValue] = [:]
        document.withUnsafeBytes { bytes in
            // The scanner checked the document: walking its members cannot fail.
            try! JSONMembers.forEach(in: bytes, object: range) { key, value in
                members[String(decoding: JSONString.decode(key), as: UTF8.self)] = JSONValue(document: document, range: value)
            }
        }
        return JSONObject(members: members)
    }

    /// The elements of an array, in order.
    package func array() throws(JSONReadError) -> [JSONValue] {
        guard kind == .array else { throw JSONReadError(.wrongKind(expected: .array, found: kind)) }
        var elements: [JSONValue] = []
        document.withUnsafeBytes { bytes in
            var at = range.lowerBound + 1
            while true {
                at = Self.skipSpace(bytes, from: at)
                if bytes[at] == 0x5D { return }
                // The scanner checked the document: skipping a value cannot fail.
                let end = try! JSONMembers.skipValue(bytes, from: at, limit: range.upperBound)
                elements.append(JSONValue(document: document, range: at..<end))
                at = Self.skipSpace(bytes, from: end)
                if bytes[at] == 0x2C { at += 1 }
            }
        }
        return elements
    }

    /// The integers of an array of them.
    package func ints() throws(JSONReadError) -> [Int] {
        var values: [Int] = []
        for element in try array() { values.append(try element.int()) }
        return values
    }

    /// The texts of an array of strings.
    package func strings() throws(JSONReadError) -> [String] {
        var values: [String] = []
        for element in try array() { values.append(try element.string()) }
        return values
    }

    private static func skipSpace(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var at = start
        while bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
        return at
    }
}
