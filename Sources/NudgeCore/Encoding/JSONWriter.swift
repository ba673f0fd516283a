/// Builds a JSON document: objects, arrays and members in the order written, commas
/// placed for the caller. Every document the tool writes goes through it (summaries,
/// reports, the ledger, checkpoints), except spool records, which the record encoders
/// write from the same ``JSONOutput`` primitives on the hot path.
package struct JSONWriter: ~Copyable {
    private(set) var out = OutputBuffer(capacity: 4096)
    private var needsComma = false

    package init() {}

    private mutating func separate(_ key: String?) {
        if needsComma { out.append(0x2C) }
        if let key {
            JSONOutput.appendString(key, to: &out)
            out.append(0x3A)
        }
        needsComma = true
    }

    package mutating func beginObject(_ key: String? = nil) { separate(key); out.append(0x7B); needsComma = false }
    package mutating func endObject() { out.append(0x7D); needsComma = true }
    package mutating func beginArray(_ key: String? = nil) { separate(key); out.append(0x5B); needsComma = false }
    package mutating func endArray() { out.append(0x5D); needsComma = true }

    package mutating func value(_ key: String? = nil, _ text: String?) {
        separate(key)
        if let text { JSONOutput.appendString(text, to: &out) } else { out.append("null") }
    }

    package mutating func value(_ key: String? = nil, _ number: Int?) {
        separate(key)
        if let number { JSONOutput.appendDecimal(number, to: &out) } else { out.append("null") }
    }

    package mutating func value(_ key: String? = nil, _ flag: Bool) {
        separate(key)
        out.append(flag ? "true" : "false")
    }

    /// A string of arbitrary bytes, each ill-formed UTF-8 subpart made one U+FFFD (an
    /// answer's body as a server sent it).
    package mutating func value(_ key: String? = nil, repairingUTF8 bytes: UnsafeRawBufferPointer) {
        separate(key)
        JSONOutput.appendStringRepairingUTF8(bytes, to: &out)
    }

    /// A number with `decimals` digits after the point (`null` for nil).
    package mutating func value(_ key: String? = nil, _ number: Double?, decimals: Int) {
        separate(key)
        if let number { out.append(utf8: fixed(number, decimals: decimals)) } else { out.append("null") }
    }

    /// An array of strings.
    package mutating func array(_ key: String? = nil, _ texts: [String]) {
        beginArray(key)
        for text in texts { value(String?.none, text) }
        endArray()
    }

    /// An array of integers.
    package mutating func array(_ key: String? = nil, _ numbers: [Int]) {
        beginArray(key)
        for number in numbers { value(String?.none, number) }
        endArray()
    }

    /// JSON text written as it is (a spool record).
    package mutating func json(_ key: String? = nil, _ bytes: UnsafeRawBufferPointer) {
        separate(key)
        out.append(bytes)
    }

    /// The document so far.
    package func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { out.withBytes(body) }

    package var text: String { out.withBytes { String(decoding: $0, as: UTF8.self) } }

    /// Bytes written and not yet handed out by ``drain(_:)``.
    package var count: Int { out.count }

    /// Hands what is written so far to `body` and forgets it; the document goes on where
    /// it was. A document too long to hold (`audit list --all`) is written out this way
    /// a piece at a time.
    package mutating func drain(_ body: (UnsafeRawBufferPointer) -> Void) {
        out.withBytes(body)
        out.removeAll()
    }

    /// The document followed by a line feed: one NDJSON line.
    package var line: [UInt8] { out.withBytes { Array($0) + [0x0A] } }
}
