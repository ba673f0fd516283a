extension String {
    /// `self` after enough `pad` characters to be `width` long: numbers in columns.
    package func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }

    /// `self` followed by enough spaces to be `width` long: names in columns.
    package func rightPadded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// `value` with commas between groups of three digits: counts a person reads.
package func group(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var result = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { result.append(",") }
        result.append(ch)
    }
    return value < 0 ? "-" + result : result
}

package func percent(_ part: Int, of whole: Int) -> String {
    whole == 0 ? "" : "  (\(format1(Double(part) * 100 / Double(whole)))%)"
}

package func format1(_ value: Double) -> String { fixed(value, decimals: 1) }
package func format3(_ value: Double) -> String { fixed(value, decimals: 3) }

/// Fixed-point text without Foundation's locale-dependent formatting.
package func fixed(_ value: Double, decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    let whole = scaled / Int(scale)
    let fraction = String(abs(scaled) % Int(scale)).leftPadded(to: decimals)
    return "\(scaled < 0 && whole == 0 ? "-" : "")\(whole).\(fraction)"
}

/// Two lowercase hexadecimal digits a byte: digests and random identifiers.
package func hex(bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Eight lowercase hexadecimal digits: CRC-32s and other 32-bit sums.
package func hex(_ value: UInt32) -> String {
    String(String(value, radix: 16).leftPadded(to: 8))
}
