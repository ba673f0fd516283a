/// The contract's text rules on decoded UTF-8 bytes: blankness and Nudge's sanitising.
package enum UnicodeText {
    /// Empty, or only Unicode `White_Space` characters.
    package static func isBlank(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var asciiOnly = true
        for byte in bytes {
            if byte >= 0x80 { asciiOnly = false; break }
            if !(byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)) { return false }
        }
        if asciiOnly { return true }
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars where !isWhiteSpace(scalar) {
            return false
        }
        return true
    }

    /// Unicode's `White_Space` property (PropList.txt), spelled out so it cannot drift.
    static func isWhiteSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Nudge's `ext_id` and event-name sanitising: every U+0020 becomes `_`, then the
    /// text is lowercased as JavaScript's `toLowerCase()` does. Appends to `out`.
    package static func appendSanitized(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var asciiOnly = true
        for byte in bytes where byte >= 0x80 { asciiOnly = false; break }
        if asciiOnly {
            for byte in bytes {
                switch byte {
                case 0x20: out.append(0x5F)
                case 0x41...0x5A: out.append(byte | 0x20)
                default: out.append(byte)
                }
            }
            return
        }
        let text = String(decoding: bytes, as: UTF8.self)
        out.append(contentsOf: javaScriptLowercased(text).utf8.map { $0 == 0x20 ? 0x5F : $0 })
    }

    /// JavaScript's `String.prototype.toLowerCase()`: Unicode full lowercase mapping,
    /// locale-independent, with the one context-dependent rule (Final_Sigma).
    static func javaScriptLowercased(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            if scalar.value == 0x03A3 {
                result.append(isFinalSigma(scalars, at: index) ? "\u{03C2}" : "\u{03C3}")
            } else {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(result)
    }

    /// Final_Sigma (Unicode §3.13): a cased letter before (skipping case-ignorables)
    /// and no cased letter after (skipping case-ignorables).
    private static func isFinalSigma(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
        var before = index - 1
        while before >= 0 && scalars[before].properties.isCaseIgnorable { before -= 1 }
        guard before >= 0 && scalars[before].properties.isCased else { return false }
        var after = index + 1
        while after < scalars.count && scalars[after].properties.isCaseIgnorable { after += 1 }
        return !(after < scalars.count && scalars[after].properties.isCased)
    }

    /// Calls `body` with JavaScript's `toLowerCase()` of `text`.
    /// (Static, so a caller's `body` may change the caller without the copy a borrowed `self` would force.)
    static func withLowercased<R>(_ text: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var ascii = true
        var hasUppercase = false
        for byte in text {
            if byte >= 0x80 { ascii = false; break }
            if byte >= 0x41 && byte <= 0x5A { hasUppercase = true }
        }
        if ascii {
            guard hasUppercase else { return body(text) }
            return withUnsafeTemporaryAllocation(byteCount: text.count, alignment: 1) { lowered in
                for (index, byte) in text.enumerated() {
                    lowered[index] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                }
                return body(UnsafeRawBufferPointer(lowered))
            }
        }
        let lowered = Array(UnicodeText.javaScriptLowercased(String(decoding: text, as: UTF8.self)).utf8)
        return lowered.withUnsafeBytes(body)
    }
}
