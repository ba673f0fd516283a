import NudgeCore

/// Random JSON text for differential and property tests: Segment-like events whose
/// fields the rules read turn up with every kind of value, at the right depth and at
/// the wrong one, under escaped and repeated keys, with random whitespace, escapes,
/// non-ASCII text and number spellings. Deterministic for a given generator state.
package struct RandomJSON {
    package var generator: SeededGenerator
    /// Exponents up to 400, beyond a Double (valid JSON, but Foundation refuses them).
    package var hugeNumbers: Bool

    package init(seed: UInt64, hugeNumbers: Bool = true) {
        generator = SeededGenerator(seed: seed)
        self.hugeNumbers = hugeNumbers
    }

    package mutating func chance(_ percent: Int) -> Bool {
        Int.random(in: 0..<100, using: &generator) < percent
    }

    package mutating func pick<T>(_ options: [T]) -> T {
        options[Int.random(in: 0..<options.count, using: &generator)]
    }

    package static let topKeys = ["type", "event", "userId", "anonymousId", "messageId", "timestamp", "previousId",
                          "traits", "properties", "context", "sentAt", "integrations", "Type", "user_id"]
    package static let nestedKeys = ["name", "email", "phone", "timezone", "type", "userId", "at", "list", "Email"]
    package static let types = ["identify", "track", "alias", "page", "Identify", "track ", ""]

    /// One event line (no newline).
    package mutating func event() -> [UInt8] {
        var out: [UInt8] = []
        whitespace(&out)
        out.append(0x7B)
        let count = Int.random(in: 0...9, using: &generator)
        for index in 0..<count {
            if index > 0 { out.append(0x2C) }
            whitespace(&out)
            let key = pick(Self.topKeys)
            string(key, escapingSome: chance(8), into: &out)
            whitespace(&out)
            out.append(0x3A)
            whitespace(&out)
            switch key {
            case "type" where chance(85): string(pick(Self.types), escapingSome: chance(5), into: &out)
            case "traits", "context", "properties": chance(80) ? object(depth: 1, into: &out) : value(depth: 1, into: &out)
            case "timestamp" where chance(70): string(timestamp(), escapingSome: chance(3), into: &out)
            default: value(depth: 1, into: &out)
            }
            whitespace(&out)
        }
        out.append(0x7D)
        whitespace(&out)
        return out
    }

    /// Any JSON value, nesting at most a few levels.
    package mutating func value(depth: Int, into out: inout [UInt8]) {
        switch Int.random(in: 0..<(depth < 4 ? 10 : 7), using: &generator) {
        case 0, 1, 2: string(text(), escapingSome: chance(30), into: &out)
        case 3, 4: number(into: &out)
        case 5: out += pick([Array("true".utf8), Array("false".utf8), Array("null".utf8)])
        case 6: string(timestamp(), escapingSome: false, into: &out)
        case 7, 8: object(depth: depth + 1, into: &out)
        default:
            out.append(0x5B)
            for index in 0..<Int.random(in: 0...4, using: &generator) {
                if index > 0 { out.append(0x2C) }
                whitespace(&out)
                value(depth: depth + 1, into: &out)
            }
            out.append(0x5D)
        }
    }

    package mutating func object(depth: Int, into out: inout [UInt8]) {
        out.append(0x7B)
        for index in 0..<Int.random(in: 0...5, using: &generator) {
            if index > 0 { out.append(0x2C) }
            whitespace(&out)
            string(chance(70) ? pick(Self.nestedKeys) : text(), escapingSome: chance(8), into: &out)
            out.append(0x3A)
            whitespace(&out)
            value(depth: depth + 1, into: &out)
        }
        out.append(0x7D)
    }

    /// Short text: ASCII, spaces, non-ASCII letters (Greek sigma, accents, emoji),
    /// Unicode white space, and characters that must be escaped.
    package mutating func text() -> String {
        let pieces = ["a", "Z", "7", " ", "_", "@", ".", "é", "e\u{301}", "Σ", "ς", "İ", "ß", "😀", "\u{2003}", "\u{3000}",
                      "\u{FEFF}", "\"", "\\", "/", "\n", "\t", "\u{1}", "\u{7F}", "\u{2028}", "user", "x@Y.com"]
        return (0..<Int.random(in: 0...8, using: &generator)).map { _ in pick(pieces) }.joined()
    }

    /// An RFC 3339 date-time, or something close to one.
    package mutating func timestamp() -> String {
        let year = pick([0, 1, 1969, 1970, 2000, 2024, 2100, 9999, Int.random(in: 0...9999, using: &generator)])
        let month = chance(95) ? Int.random(in: 1...12, using: &generator) : pick([0, 13])
        let day = chance(90) ? Int.random(in: 1...28, using: &generator) : pick([0, 29, 30, 31, 32])
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var text = "\(String(repeating: "0", count: max(0, 4 - String(year).count)))\(year)-\(two(month))-\(two(day))"
        text += pick(["T", "T", "t", " "]) + "\(two(Int.random(in: 0...23, using: &generator))):"
        text += "\(two(Int.random(in: 0...59, using: &generator))):\(two(chance(97) ? Int.random(in: 0...59, using: &generator) : 60))"
        if chance(50) { text += "." + String(repeating: "9", count: Int.random(in: 0...9, using: &generator)) }
        let offset = "\(two(Int.random(in: 0...24, using: &generator)))\(chance(70) ? ":" : "")\(two(pick([0, 30, 45, 59, 60])))"
        text += pick(["Z", "z", "+" + offset, "-" + offset, ""])
        return text
    }

    package mutating func number(into out: inout [UInt8]) {
        var text = chance(20) ? "-" : ""
        text += chance(15) ? "0" : String(Int.random(in: 1...999_999, using: &generator))
        if chance(10) { text += "123456789012345678901234567890" }
        if chance(25) { text += "." + String(Int.random(in: 0...999, using: &generator)) }
        if chance(15) { text += pick(["e", "E"]) + pick(["", "+", "-"]) + String(Int.random(in: 0...(hugeNumbers ? 400 : 200), using: &generator)) }
        out += Array(text.utf8)
    }

    /// A JSON string of `text`: what must be escaped is, and with `escapingSome` other
    /// characters are written as `\uXXXX` (surrogate pairs beyond the BMP) or `\/`.
    package mutating func string(_ text: String, escapingSome: Bool, into out: inout [UInt8]) {
        out.append(0x22)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            switch value {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x09: out += [0x5C, 0x74]
            case 0x2F where escapingSome: out += [0x5C, 0x2F]
            case 0..<0x20: unicodeEscape(value, into: &out)
            default:
                if escapingSome && chance(50) {
                    if value > 0xFFFF {
                        let offset = value - 0x10000
                        unicodeEscape(0xD800 + (offset >> 10), into: &out)
                        unicodeEscape(0xDC00 + (offset & 0x3FF), into: &out)
                    } else {
                        unicodeEscape(value, into: &out)
                    }
                } else {
                    out += Array(String(scalar).utf8)
                }
            }
        }
        if escapingSome && chance(10) {
            // Surrogate escapes that make no pair: lone, reversed, or high then not low.
            let unit = { (g: inout SeededGenerator) in UInt32.random(in: 0xD800...0xDFFF, using: &g) }
            for _ in 0..<Int.random(in: 1...2, using: &generator) { unicodeEscape(unit(&generator), into: &out) }
        }
        out.append(0x22)
    }

    private mutating func unicodeEscape(_ value: UInt32, into out: inout [UInt8]) {
        let digits = Array((chance(50) ? "0123456789abcdef" : "0123456789ABCDEF").utf8)
        out += [0x5C, 0x75] + [12, 8, 4, 0].map { digits[Int((value >> UInt32($0)) & 0xF)] }
    }

    private mutating func whitespace(_ out: inout [UInt8]) {
        guard chance(15) else { return }
        for _ in 0..<Int.random(in: 1...3, using: &generator) { out.append(pick([0x20, 0x09, 0x0D])) }
    }

    /// `line` with one to three bytes replaced, removed or inserted from JSON's own
    /// alphabet and some bytes that are not UTF-8.
    package mutating func mutate(_ line: [UInt8]) -> [UInt8] {
        let alphabet = Array("{}[]\",:\\/ 0123456789.eE+-tfnrulsabu\u{0}\t".utf8) + [0x80, 0xC3, 0xA9, 0xED, 0xF4, 0xFF]
        var line = line
        for _ in 0..<Int.random(in: 1...3, using: &generator) {
            if line.isEmpty { line = [0x7B] }
            let at = Int.random(in: 0..<line.count, using: &generator)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: line[at] = pick(alphabet)
            case 1: line.remove(at: at)
            default: line.insert(pick(alphabet), at: at)
            }
        }
        return line
    }
}

