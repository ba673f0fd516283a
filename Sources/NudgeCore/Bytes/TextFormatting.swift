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

/// A size a person reads, in binary units: `512 B`, `3.2 KiB`, `1.5 GiB`.
package func bytesText(_ bytes: Int) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB"]
    guard bytes >= 1024 else { return "\(bytes) B" }
    var value = Double(bytes) / 1024
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return format1(value) + " " + units[unit]
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

extension String {
    /// `self` as one word a POSIX shell reads back unchanged: as it is when it holds only
    /// characters no shell treats specially (`spool`, `s3://bucket/logs/`, `a-b_c.gz`),
    /// else in single quotes, a `'` inside written `'\''` (as Python's `shlex.quote`).
    /// Every command the tool suggests quotes its paths with this, so a spool named
    /// `weird dir` gives a command that can be pasted.
    package var shellQuoted: String {
        let plain = !isEmpty && utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case UInt8(ascii: "@"), UInt8(ascii: "%"), UInt8(ascii: "+"), UInt8(ascii: "="), UInt8(ascii: ":"),
                 UInt8(ascii: ","), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
        if plain { return self }
        return "'" + replacing("'", with: "'\\''") + "'"
    }
}

/// Rows of a label, a count and a note, each label padded to the widest and each count
/// right-aligned under the widest (grouped: `12,345`), so the columns line up whatever
/// the names and numbers: summaries a person reads.
package func alignedRows(_ rows: [(label: String, count: Int, note: String)], indent: String = "  ") -> [String] {
    let labelWidth = rows.map(\.label.count).max() ?? 0
    let countWidth = rows.map { group($0.count).count }.max() ?? 0
    return rows.map { row in
        indent + row.label.rightPadded(to: labelWidth) + "  " + group(row.count).leftPadded(to: countWidth, with: " ")
            + (row.note.isEmpty ? "" : "  " + row.note)
    }
}
