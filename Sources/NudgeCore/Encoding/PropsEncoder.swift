/// Writes a Nudge `props` object from the event's `properties` or `traits`.
///
/// Values are copied as they came, whitespace removed, with two exceptions the
/// contract asks for: a string value (at any depth) that is an RFC 3339 date-time with
/// a numeric offset is rewritten to UTC in `toISOString()` form, and a key an object
/// repeats appears once, at its first position, with its last value (what
/// `JSON.parse` keeps). The input must be a span the scanner validated.
struct PropsEncoder {
    private struct Member {
        var key: Fingerprint
        /// The member's `"key":value` text in the output.
        var start: Int
        var end: Int
    }

    /// Members of the objects being written, innermost last; reused across records.
    private var members: [Member] = []
    private var sortedKeys: [Fingerprint] = []
    private var scratch: [UInt8] = []
    private var decoded: [UInt8] = []

    init() {
        members.reserveCapacity(256)
    }

    /// Appends `props` for `span`: `{}` unless it is an object. With
    /// `droppingIdentityTraits`, the object's own `name`, `email` and `phone` are left out.
    mutating func append(
        _ span: JSONSpan, in line: UnsafeRawBufferPointer, droppingIdentityTraits: Bool = false,
        to out: inout OutputBuffer
    ) {
        guard span.kind == .object, let base = line.baseAddress else {
            out.append("{}")
            return
        }
        var reader = Reader(base: base.assumingMemoryBound(to: UInt8.self), index: span.start, end: span.end)
        writeValue(&reader, droppingIdentityTraits: droppingIdentityTraits, to: &out)
    }

    private mutating func writeValue(_ reader: inout Reader, droppingIdentityTraits: Bool = false, to out: inout OutputBuffer) {
        reader.skipWhitespace()
        switch reader.peek {
        case 0x7B: writeObject(&reader, droppingIdentityTraits: droppingIdentityTraits, to: &out)
        case 0x5B:
            out.append(0x5B)
            reader.index += 1
            reader.skipWhitespace()
            var first = true
            while reader.peek != 0x5D {
                if !first { out.append(0x2C) }
                first = false
                writeValue(&reader, to: &out)
                reader.skipWhitespace()
                if reader.peek == 0x2C { reader.index += 1 }
                reader.skipWhitespace()
            }
            reader.index += 1
            out.append(0x5D)
        case 0x22: writeString(&reader, to: &out)
        default:
            let start = reader.index
            reader.skipScalar()
            out.append(UnsafeRawBufferPointer(start: reader.base + start, count: reader.index - start))
        }
    }

    private mutating func writeObject(_ reader: inout Reader, droppingIdentityTraits: Bool, to out: inout OutputBuffer) {
        out.append(0x7B)
        reader.index += 1
        let contentStart = out.count
        let firstMember = members.count
        while true {
            reader.skipWhitespace()
            if reader.peek == 0x7D { break }
            if reader.peek == 0x2C { reader.index += 1; continue }
            let keyStart = reader.index
            let keyHasEscapes = reader.skipString()
            let keyToken = UnsafeRawBufferPointer(start: reader.base + keyStart, count: reader.index - keyStart)
            reader.skipWhitespace()
            reader.index += 1  // ':'
            let key = keyFingerprint(keyToken, hasEscapes: keyHasEscapes)
            let memberStart = out.count
            if members.count > firstMember { out.append(0x2C) }
            let textStart = out.count
            out.append(keyToken)
            out.append(0x3A)
            writeValue(&reader, to: &out)
            if droppingIdentityTraits && isIdentityTrait(key) {
                out.truncate(to: memberStart)
            } else {
                members.append(Member(key: key, start: textStart, end: out.count))
            }
        }
        reader.index += 1
        if hasDuplicateKeys(from: firstMember) {
            keepLastValues(from: firstMember, contentStart: contentStart, out: &out)
        }
        members.removeSubrange(firstMember...)
        out.append(0x7D)
    }

    /// A string token's content, between its quotes.
    @inline(__always)
    private static func stringContent(_ token: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: token.baseAddress! + 1, count: token.count - 2)
    }

    private static let identityTraitKeys: [Fingerprint] = ["name", "email", "phone"].map { key in
        Array(key.utf8).withUnsafeBytes { Fingerprint($0) }
    }

    private func isIdentityTrait(_ key: Fingerprint) -> Bool {
        Self.identityTraitKeys.contains(key)
    }

    private mutating func keyFingerprint(_ token: UnsafeRawBufferPointer, hasEscapes: Bool) -> Fingerprint {
        let content = Self.stringContent(token)
        guard hasEscapes else { return Fingerprint(content) }
        decoded = JSONString.decode(content)
        return decoded.withUnsafeBytes { Fingerprint($0) }
    }

    private mutating func hasDuplicateKeys(from first: Int) -> Bool {
        let count = members.count - first
        guard count > 1 else { return false }
        if count <= 16 {
            for i in first..<members.count {
                for j in (i + 1)..<members.count where members[i].key == members[j].key { return true }
            }
            return false
        }
        sortedKeys.removeAll(keepingCapacity: true)
        for member in members[first...] { sortedKeys.append(member.key) }
        sortedKeys.sort { ($0.high, $0.low) < ($1.high, $1.low) }
        for i in 1..<sortedKeys.count where sortedKeys[i] == sortedKeys[i - 1] { return true }
        return false
    }

    /// Rewrites the object's members so each key appears once, at its first position,
    /// with its last value. Sorting by key keeps this O(m log m) even for hostile
    /// objects that repeat one key a hundred thousand times.
    private mutating func keepLastValues(from first: Int, contentStart: Int, out: inout OutputBuffer) {
        scratch.removeAll(keepingCapacity: true)
        out.withBytes(in: contentStart..<out.count) { scratch.appendBytes($0) }
        out.truncate(to: contentStart)
        let objectMembers = Array(members[first...])
        let order = objectMembers.indices.sorted { a, b in
            let (x, y) = (objectMembers[a].key, objectMembers[b].key)
            return (x.high, x.low, a) < (y.high, y.low, b)
        }
        // For each key's first position, the position of its last value.
        var lastValueAt = [Int](repeating: -1, count: objectMembers.count)
        var groupStart = 0
        while groupStart < order.count {
            var groupEnd = groupStart + 1
            while groupEnd < order.count && objectMembers[order[groupEnd]].key == objectMembers[order[groupStart]].key {
                groupEnd += 1
            }
            lastValueAt[order[groupStart]] = order[groupEnd - 1]
            groupStart = groupEnd
        }
        var written = 0
        for last in lastValueAt where last >= 0 {
            let member = objectMembers[last]
            if written > 0 { out.append(0x2C) }
            scratch.withUnsafeBytes {
                out.append(UnsafeRawBufferPointer(rebasing: $0[(member.start - contentStart)..<(member.end - contentStart)]))
            }
            written += 1
        }
    }

    private mutating func writeString(_ reader: inout Reader, to out: inout OutputBuffer) {
        let start = reader.index
        let hasEscapes = reader.skipString()
        let token = UnsafeRawBufferPointer(start: reader.base + start, count: reader.index - start)
        // A date-time is at least 24 characters, with `-` at offset 4.
        if token.count >= 26, hasEscapes || token[5] == 0x2D {
            let content = Self.stringContent(token)
            let timestamp: Timestamp?
            if hasEscapes {
                decoded = JSONString.decode(content)
                timestamp = decoded.withUnsafeBytes { Timestamp.parse($0) }
            } else {
                timestamp = Timestamp.parse(content)
            }
            if let timestamp, timestamp.hadNumericOffset {
                out.append(0x22)
                timestamp.appendISOString(to: &out)
                out.append(0x22)
                return
            }
        }
        out.append(token)
    }
}

/// A cursor over JSON the scanner already validated: no checks, only skipping.
private struct Reader {
    let base: UnsafePointer<UInt8>
    var index: Int
    let end: Int

    var peek: UInt8 { base[index] }

    mutating func skipWhitespace() {
        while index < end {
            let byte = base[index]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            index += 1
        }
    }

    /// Skips a string token; returns whether it holds escapes.
    mutating func skipString() -> Bool {
        index += 1
        var escaped = false
        while true {
            let byte = base[index]
            if byte == 0x22 { index += 1; return escaped }
            if byte == 0x5C { escaped = true; index += 2 } else { index += 1 }
        }
    }

    /// Skips a number or literal.
    mutating func skipScalar() {
        while index < end {
            switch base[index] {
            case 0x2C, 0x5D, 0x7D, 0x20, 0x0A, 0x0D, 0x09: return
            default: index += 1
            }
        }
    }
}
