extension JSONKind {
    /// "a number", "an object", … for details.
    var article: StaticString {
        switch self {
        case .absent: return "absent"
        case .string: return "a string"
        case .number: return "a number"
        case .object: return "an object"
        case .array: return "an array"
        case .true, .false: return "a boolean"
        case .null: return "null"
        }
    }
}

/// A drop's one-line detail being written: literal text and short renderings of
/// values, in UTF-8 bytes, without `String` work on the hot path.
struct DetailText {
    /// Values are cut to this many characters (Unicode scalars), then `…`.
    static let valueLimit = 80

    var bytes: [UInt8]

    mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// `value` (valid UTF-8) in quotes, cut to ``valueLimit`` scalars, line breaks as spaces.
    mutating func appendQuote(of value: UnsafeRawBufferPointer, quoted: Bool = true) {
        if quoted { bytes.append(0x22) }
        var index = 0
        var scalars = 0
        while index < value.count {
            if scalars == Self.valueLimit {
                append("…")
                break
            }
            let lead = value[index]
            let length = min(lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4, value.count - index)
            let isLineBreak = (lead >= 0x0A && lead <= 0x0D)
                || (length == 2 && lead == 0xC2 && value[index + 1] == 0x85)
                || (length == 3 && lead == 0xE2 && value[index + 1] == 0x80 && value[index + 2] & 0xFE == 0xA8)
            if isLineBreak {
                bytes.append(0x20)
            } else {
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[index..<(index + length)]))
            }
            index += length
            scalars += 1
        }
        if quoted { bytes.append(0x22) }
    }
}
