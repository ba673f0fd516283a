/// Builds a JSON document for a report (audit, collisions, redrive): objects, arrays
/// and members in the order written, commas placed for the caller.
package struct JSONWriter: ~Copyable {
    private(set) var out = ByteBuffer(capacity: 4096)
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

    /// A number with `decimals` digits after the point.
    package mutating func value(_ key: String? = nil, _ number: Double, decimals: Int) {
        separate(key)
        out.append(utf8: fixed(number, decimals: decimals))
    }

    /// JSON text written as it is (a spool record).
    package mutating func json(_ key: String? = nil, _ bytes: UnsafeRawBufferPointer) {
        separate(key)
        out.append(bytes)
    }

    package var text: String { out.withBytes { String(decoding: $0, as: UTF8.self) } }
}
