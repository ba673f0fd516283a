/// Walks the members of a JSON object the tool wrote (a spool record, a checkpoint),
/// handing out each key (its escaped bytes) and the byte range of its value. Values are
/// skipped structurally; anything that does not fit JSON's grammar is an error, never
/// a crash, so a damaged spool file is reported rather than trusted.
package enum JSONMembers {
    package struct Malformed: Error {
        package var problem: String

        package init(problem: String) {
            self.problem = problem
        }
    }

    package static func forEach(
        in bytes: UnsafeRawBufferPointer, object: Range<Int>,
        _ body: (UnsafeRawBufferPointer, Range<Int>) throws(Malformed) -> Void
    ) throws(Malformed) {
        var at = object.lowerBound
        func fail(_ what: String) -> Malformed { .init(problem: "\(what) at byte \(at)") }
        func skipSpace() { while at < object.upperBound, [0x20, 0x09, 0x0D, 0x0A].contains(bytes[at]) { at += 1 } }
        skipSpace()
        guard at < object.upperBound, bytes[at] == 0x7B else { throw fail("expected an object") }
        at += 1
        skipSpace()
        if at < object.upperBound && bytes[at] == 0x7D { return }
        while true {
            skipSpace()
            guard at < object.upperBound, bytes[at] == 0x22 else { throw fail("expected a key") }
            let keyEnd = try skipValue(bytes, from: at, limit: object.upperBound)
            let key = UnsafeRawBufferPointer(rebasing: bytes[(at + 1)..<(keyEnd - 1)])
            at = keyEnd
            skipSpace()
            guard at < object.upperBound, bytes[at] == 0x3A else { throw fail("expected ':'") }
            at += 1
            skipSpace()
            let valueEnd = try skipValue(bytes, from: at, limit: object.upperBound)
            try body(key, at..<valueEnd)
            at = valueEnd
            skipSpace()
            guard at < object.upperBound else { throw fail("unterminated object") }
            if bytes[at] == 0x7D { return }
            guard bytes[at] == 0x2C else { throw fail("expected ',' or '}'") }
            at += 1
        }
    }

    /// The end of the value starting at `start`.
    static func skipValue(_ bytes: UnsafeRawBufferPointer, from start: Int, limit: Int) throws(Malformed) -> Int {
        var at = start
        var depth = 0
        repeat {
            guard at < limit else { throw .init(problem: "a value runs past the end at byte \(start)") }
            switch bytes[at] {
            case 0x22:
                at = try stringEnd(bytes, from: at + 1, limit: limit, start: start)
            case 0x7B, 0x5B:
                depth += 1
                at += 1
            case 0x7D, 0x5D:
                depth -= 1
                at += 1
            default:
                // Numbers, literals, separators and whitespace inside containers.
                at += 1
                if depth == 0 {
                    while at < limit, !Self.endsScalar(bytes[at]) { at += 1 }
                }
            }
        } while depth > 0
        guard depth == 0 else { throw .init(problem: "unbalanced brackets at byte \(start)") }
        return at
    }

    /// The position after the `"` that ends the string whose contents start at `from`.
    private static func stringEnd(_ bytes: UnsafeRawBufferPointer, from: Int, limit: Int, start: Int) throws(Malformed) -> Int {
        var at = from
        while true {
            at = JSONBytes.plainRunEnd(bytes, from: at, limit: limit)
            guard at < limit else { throw .init(problem: "unterminated string at byte \(start)") }
            switch bytes[at] {
            case 0x22: return at + 1
            case 0x5C: at += 2
            default: at += 1
            }
        }
    }

    private static func endsScalar(_ byte: UInt8) -> Bool {
        byte == 0x2C || byte == 0x7D || byte == 0x5D || byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// The decoded bytes of the JSON string `value` (quotes included), or nil when it is
    /// not a well-formed JSON string.
    package static func decodedString(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) -> [UInt8]? {
        guard value.count >= 2, bytes[value.lowerBound] == 0x22, bytes[value.upperBound - 1] == 0x22 else { return nil }
        return JSONString.decodeChecked(UnsafeRawBufferPointer(rebasing: bytes[(value.lowerBound + 1)..<(value.upperBound - 1)]))
    }
}
