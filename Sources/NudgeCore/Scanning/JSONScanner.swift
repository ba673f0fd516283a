/// A single-pass, byte-level, validating JSON scanner.
///
/// It checks the whole line against RFC 8259 (strict: no NaN, comments or trailing
/// commas; UTF-8 validated inside strings; no lone surrogate escapes; nesting at most
/// `maxDepth`) and, in the same pass, records where the fields the rules read lie.
/// It allocates nothing and never recurses, so hostile nesting costs no stack.
///
/// Runs of plain bytes (string contents, whitespace, digits) are examined 16 bytes at a
/// time with `SIMD16<UInt8>` blocks (see ``JSONBlock``); the last bytes of a line, and
/// everything that is not a plain run, go byte by byte.
package struct JSONScanner {
    /// The contract's nesting limit.
    package static let maxDepth = 1000

    package init() {}

    /// Scans `line`, filling `event` with the spans of the fields the rules read.
    package func scan(_ line: UnsafeRawBufferPointer, into event: inout ScannedEvent) -> ScanOutcome {
        event = ScannedEvent()
        guard let base = line.baseAddress, line.count > 0 else {
            return .malformed(JSONSyntaxError(offset: 0, problem: .unexpectedEnd))
        }
        var cursor = Cursor(base: base.assumingMemoryBound(to: UInt8.self), count: line.count)
        do {
            let root = try cursor.scanDocument(into: &event)
            return root == .object ? .object : .notAnObject(root)
        } catch {
            return .malformed(error)
        }
    }
}

/// The fields tracked below the root object.
private enum TopField: UInt8 {
    case other, type, event, userId, anonymousId, messageId, timestamp, previousId
    case traits, properties, context
}

private enum NestedField: UInt8 {
    case other, traitsName, traitsEmail, traitsPhone, contextTimezone
}

/// One bit per nesting level: set for an object, clear for an array.
private struct ContainerStack {
    private var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    @inline(__always)
    mutating func set(depth: Int, isObject: Bool) {
        withUnsafeMutableBytes(of: &words) { raw in
            let w = raw.baseAddress!.assumingMemoryBound(to: UInt64.self)
            let bit = UInt64(1) << UInt64(depth & 63)
            if isObject { w[depth >> 6] |= bit } else { w[depth >> 6] &= ~bit }
        }
    }

    @inline(__always)
    func isObject(depth: Int) -> Bool {
        withUnsafeBytes(of: words) { raw in
            let w = raw.baseAddress!.assumingMemoryBound(to: UInt64.self)
            return w[depth >> 6] & (UInt64(1) << UInt64(depth & 63)) != 0
        }
    }
}

/// The scanner's position in a line.
///
/// Every method that moves `index` is inlined into `scanDocument`, and the few kept out
/// of line are static and take positions, so the cursor never escapes to memory and the
/// optimizer keeps `index` in a register.
private struct Cursor {
    let base: UnsafePointer<UInt8>
    let count: Int
    var index = 0

    init(base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.count = count
    }

    @inline(__always)
    func fail(_ problem: JSONSyntaxError.Problem) -> JSONSyntaxError {
        JSONSyntaxError(offset: index, problem: problem)
    }

    @inline(__always)
    mutating func skipWhitespace() {
        // Compact JSON has no whitespace between tokens: one test says so (any byte
        // above 0x20 is not whitespace).
        guard index < count, base[index] <= 0x20 else { return }
        index = Self.whitespaceRunEnd(base, count: count, from: index)
    }

    /// Where the whitespace run at `from` ends: a block at a time while 16 bytes remain,
    /// then byte by byte.
    @inline(never)
    static func whitespaceRunEnd(_ base: UnsafePointer<UInt8>, count: Int, from: Int) -> Int {
        var i = from
        while i &+ JSONBlock.width <= count {
            let skip = JSONBlock.firstFlagged(JSONBlock.nonWhitespaceFlags(JSONBlock.load(base + i)))
            i &+= skip
            if skip < JSONBlock.width { return i }
        }
        while i < count {
            let byte = base[i]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { break }
            i &+= 1
        }
        return i
    }

    /// Scans the whole line; returns the root's kind.
    mutating func scanDocument(into event: inout ScannedEvent) throws(JSONSyntaxError) -> JSONKind {
        var stack = ContainerStack()
        var depth = 0
        var rootKind = JSONKind.absent
        var topField = TopField.other
        var topStart = 0
        var nestedField = NestedField.other
        var nestedStart = 0
        // Whether the innermost open container is an object (the stack's bit at `depth`).
        var inObject = false
        // Whether a member's key comes before the value due: after `{` and after `,` in
        // an object. One place scans keys, so it is inlined once.
        var keyDue = false

        while true {
            if keyDue {
                keyDue = false
                try scanKey(depth: depth, topField: &topField, nestedField: &nestedField)
            }
            // Expecting a value.
            skipWhitespace()
            guard index < count else { throw fail(.unexpectedEnd) }
            let valueStart = index
            if depth == 1 {
                topStart = valueStart
                // The last `traits` or `context` wins, with its nested fields.
                if topField == .traits {
                    event.traitsName = .absent; event.traitsEmail = .absent; event.traitsPhone = .absent
                } else if topField == .context {
                    event.contextTimezone = .absent
                }
            } else if depth == 2 {
                nestedStart = valueStart
            }
            var ended = JSONSpan()
            let byte = base[index]
            switch byte {
            case 0x7B, 0x5B:  // { [
                let isObject = byte == 0x7B
                if depth == 0 { rootKind = isObject ? .object : .array }
                depth += 1
                guard depth <= JSONScanner.maxDepth else { throw fail(.tooDeep(limit: JSONScanner.maxDepth)) }
                index += 1
                skipWhitespace()
                guard index < count else { throw fail(.unexpectedEnd) }
                if base[index] == (isObject ? 0x7D : 0x5D) {
                    index += 1
                    depth -= 1
                    ended = JSONSpan(start: valueStart, end: index, kind: isObject ? .object : .array)
                } else {
                    stack.set(depth: depth, isObject: isObject)
                    inObject = isObject
                    keyDue = isObject
                    continue
                }
            case 0x22:
                let escaped = try scanString()
                ended = JSONSpan(start: valueStart, end: index, kind: .string, hasEscapes: escaped)
            case 0x74:
                try expectLiteral(0x74_72_75_65, length: 4)
                ended = JSONSpan(start: valueStart, end: index, kind: .true)
            case 0x66:
                try expectLiteral(0x66_61_6C_73_65, length: 5)
                ended = JSONSpan(start: valueStart, end: index, kind: .false)
            case 0x6E:
                try expectLiteral(0x6E_75_6C_6C, length: 4)
                ended = JSONSpan(start: valueStart, end: index, kind: .null)
            case 0x2D, 0x30...0x39:
                let integer = try scanNumber()
                ended = JSONSpan(start: valueStart, end: index, kind: .number, isInteger: integer)
            default:
                throw fail(.unexpectedByte(byte))
            }
            if depth == 0 { rootKind = ended.kind }

            // A value ended at `depth`; close containers until another value is due.
            while true {
                if depth == 1 {
                    ended.start = topStart
                    record(ended, topField, into: &event)
                } else if depth == 2 && nestedField != .other {
                    ended.start = nestedStart
                    record(ended, nestedField, into: &event)
                }
                skipWhitespace()
                if depth == 0 {
                    guard index == count else { throw fail(.trailingContent) }
                    return rootKind
                }
                guard index < count else { throw fail(.unexpectedEnd) }
                let next = base[index]
                if next == 0x2C {
                    index += 1
                    if inObject {
                        skipWhitespace()
                        keyDue = true
                    }
                    break
                }
                guard next == (inObject ? 0x7D : 0x5D) else { throw fail(.expectedCommaOrEnd) }
                index += 1
                depth -= 1
                ended = JSONSpan(start: 0, end: index, kind: inObject ? .object : .array)
                inObject = stack.isObject(depth: depth)
            }
        }
    }

    @inline(__always)
    func record(_ span: JSONSpan, _ field: TopField, into event: inout ScannedEvent) {
        switch field {
        case .other: break
        case .type: event.type = span
        case .event: event.event = span
        case .userId: event.userId = span
        case .anonymousId: event.anonymousId = span
        case .messageId: event.messageId = span
        case .timestamp: event.timestamp = span
        case .previousId: event.previousId = span
        case .traits: event.traits = span
        case .properties: event.properties = span
        case .context: event.context = span
        }
    }

    @inline(__always)
    func record(_ span: JSONSpan, _ field: NestedField, into event: inout ScannedEvent) {
        switch field {
        case .other: break
        case .traitsName: event.traitsName = span
        case .traitsEmail: event.traitsEmail = span
        case .traitsPhone: event.traitsPhone = span
        case .contextTimezone: event.contextTimezone = span
        }
    }

    /// Scans `"key"` and the `:` after it, classifying keys at the depths the rules read.
    @inline(__always)
    mutating func scanKey(depth: Int, topField: inout TopField, nestedField: inout NestedField) throws(JSONSyntaxError) {
        guard index < count, base[index] == 0x22 else { throw fail(.expectedKey) }
        let keyStart = index
        let escaped = try scanString()
        if depth <= 2 {
            let key = UnsafeRawBufferPointer(start: base + keyStart + 1, count: index - keyStart - 2)
            (topField, nestedField) = Self.classify(key, escaped: escaped, depth: depth, topField: topField)
        }
        skipWhitespace()
        guard index < count, base[index] == 0x3A else { throw fail(.expectedColon) }
        index += 1
    }

    /// Classifies the key just scanned at `depth` 1 or 2.
    @inline(__always)
    static func classify(_ key: UnsafeRawBufferPointer, escaped: Bool, depth: Int,
                         topField: TopField) -> (TopField, NestedField) {
        if depth == 1 {
            // Values at depth 2 of an array member have no key: none is a nested field.
            return (escaped ? classifyEscapedTop(key) : classifyTop(key), .other)
        } else if topField == .traits || topField == .context {
            let nested = escaped
                ? classifyEscapedNested(key, inTraits: topField == .traits)
                : classifyNested(key, inTraits: topField == .traits)
            return (topField, nested)
        } else {
            return (topField, .other)
        }
    }

    static func classifyTop(_ key: UnsafeRawBufferPointer) -> TopField {
        switch key.count {
        case 4: return key.equals("type") ? .type : .other
        case 5: return key.equals("event") ? .event : .other
        case 6:
            if key.equals("userId") { return .userId }
            return key.equals("traits") ? .traits : .other
        case 7: return key.equals("context") ? .context : .other
        case 9:
            if key.equals("messageId") { return .messageId }
            return key.equals("timestamp") ? .timestamp : .other
        case 10:
            if key.equals("properties") { return .properties }
            return key.equals("previousId") ? .previousId : .other
        case 11: return key.equals("anonymousId") ? .anonymousId : .other
        default: return .other
        }
    }

    static func classifyNested(_ key: UnsafeRawBufferPointer, inTraits: Bool) -> NestedField {
        if inTraits {
            switch key.count {
            case 4: return key.equals("name") ? .traitsName : .other
            case 5:
                if key.equals("email") { return .traitsEmail }
                return key.equals("phone") ? .traitsPhone : .other
            default: return .other
            }
        }
        return key.count == 8 && key.equals("timezone") ? .contextTimezone : .other
    }

    /// Keys spelled with escapes (`"\u0074ype"`) are rare: decode, then classify.
    static func classifyEscapedTop(_ key: UnsafeRawBufferPointer) -> TopField {
        let decoded = JSONString.decode(key)
        return decoded.withUnsafeBytes { classifyTop($0) }
    }

    static func classifyEscapedNested(_ key: UnsafeRawBufferPointer, inTraits: Bool) -> NestedField {
        let decoded = JSONString.decode(key)
        return decoded.withUnsafeBytes { classifyNested($0, inTraits: inTraits) }
    }

    @inline(__always)
    mutating func expectLiteral(_ packed: UInt64, length: Int) throws(JSONSyntaxError) {
        guard count - index >= length else { throw fail(.invalidLiteral) }
        for offset in 0..<length {
            let expected = UInt8(truncatingIfNeeded: packed >> UInt64(8 * (length - 1 - offset)))
            guard base[index + offset] == expected else { throw fail(.invalidLiteral) }
        }
        index += length
    }

    /// Scans a number; returns whether it is written as an integer.
    @inline(__always)
    mutating func scanNumber() throws(JSONSyntaxError) -> Bool {
        var integer = true
        if base[index] == 0x2D { index += 1 }
        guard index < count else { throw fail(.invalidNumber) }
        if base[index] == 0x30 {
            index += 1
        } else if base[index] >= 0x31 && base[index] <= 0x39 {
            index += 1
            skipDigits()
        } else {
            throw fail(.invalidNumber)
        }
        if index < count && base[index] == 0x2E {
            integer = false
            index += 1
            guard index < count, isDigit(base[index]) else { throw fail(.invalidNumber) }
            skipDigits()
        }
        if index < count && (base[index] | 0x20) == 0x65 {
            integer = false
            index += 1
            if index < count && (base[index] == 0x2B || base[index] == 0x2D) { index += 1 }
            guard index < count, isDigit(base[index]) else { throw fail(.invalidNumber) }
            skipDigits()
        }
        return integer
    }

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }

    @inline(__always)
    mutating func skipDigits() {
        var i = index
        // Numbers are short: one block nearly always holds the rest of the run.
        while i &+ JSONBlock.width <= count {
            let skip = JSONBlock.firstFlagged(JSONBlock.nonDigitFlags(JSONBlock.load(base + i)))
            i &+= skip
            if skip < JSONBlock.width {
                index = i
                return
            }
        }
        while i < count && isDigit(base[i]) { i &+= 1 }
        index = i
    }

    /// Scans a string from its opening quote past its closing one; returns whether it
    /// holds escapes. Validates UTF-8, escapes and surrogate pairs.
    ///
    /// From the opening quote it finds the first byte that is not plain
    /// (``JSONBlock/stringSpecialFlags(_:)``), 16 bytes at a time while 16 remain in the
    /// line and byte by byte after, then deals with that byte: the closing quote ends the
    /// string; an escape is checked; a control byte is an error; a byte of 0x80 or above
    /// starts UTF-8, validated one sequence at a time for as long as non-ASCII bytes
    /// follow. Then the search for the next special byte goes on. An error's offset is
    /// the special byte's (for UTF-8, the lead byte of the bad sequence).
    @inline(__always)
    mutating func scanString() throws(JSONSyntaxError) -> Bool {
        var i = index &+ 1
        var escaped = false
        while true {
            if i &+ JSONBlock.width <= count {
                let skip = JSONBlock.firstFlagged(JSONBlock.stringSpecialFlags(JSONBlock.load(base + i)))
                i &+= skip
                if skip == JSONBlock.width { continue }
            } else {
                // Under 16 bytes left in the line: no block load may reach past its end.
                while i < count && !JSONBytes.isSpecial(base[i]) { i &+= 1 }
                guard i < count else {
                    index = i
                    throw fail(.unexpectedEnd)
                }
            }
            let byte = base[i]
            if byte == 0x22 {
                index = i &+ 1
                return escaped
            }
            index = i
            if byte == 0x5C {
                escaped = true
                try scanEscape()
                i = index
            } else if byte < 0x20 {
                throw fail(.controlCharacterInString(byte))
            } else {
                // Non-ASCII text tends to come in runs: validate sequence after sequence
                // before going back to blocks.
                repeat {
                    try scanUTF8Sequence()
                } while index < count && base[index] >= 0x80
                i = index
            }
        }
    }

    @inline(__always)
    mutating func scanEscape() throws(JSONSyntaxError) {
        guard index + 1 < count else { throw fail(.unexpectedEnd) }
        switch base[index + 1] {
        case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
            index += 2
        case 0x75:
            let unit = try hex4(at: index + 2)
            if unit >= 0xDC00 && unit <= 0xDFFF { throw fail(.loneSurrogate) }
            if unit >= 0xD800 && unit <= 0xDBFF {
                guard index + 11 < count, base[index + 6] == 0x5C, base[index + 7] == 0x75,
                      let low = try? hex4(at: index + 8), low >= 0xDC00 && low <= 0xDFFF
                else { throw fail(.loneSurrogate) }
                index += 12
            } else {
                index += 6
            }
        default:
            throw fail(.invalidEscape)
        }
    }

    @inline(__always)
    func hex4(at offset: Int) throws(JSONSyntaxError) -> UInt16 {
        guard let value = JSONBytes.hex4(UnsafeRawBufferPointer(start: base, count: count), at: offset) else {
            throw JSONSyntaxError(offset: index, problem: .invalidEscape)
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence.
    @inline(__always)
    mutating func scanUTF8Sequence() throws(JSONSyntaxError) {
        let sequence = JSONBytes.utf8Sequence(UnsafeRawBufferPointer(start: base, count: count), at: index)
        guard sequence.isComplete else { throw fail(.invalidUTF8) }
        index += sequence.length
    }
}
