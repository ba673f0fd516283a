/// Appending JSON text to a byte buffer: strings escaped so any strict parser accepts
/// them (`"`, `\` and control characters), other Unicode kept as it came.
enum JSONOutput {
    @inline(__always)
    static func append(_ literal: StaticString, to out: inout [UInt8]) {
        out.appendBytes(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(0x2D) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = UInt8(0x30 + magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            out.appendBytes(UnsafeRawBufferPointer(rebasing: buffer[(20 - count)...]))
        }
    }

    /// A quoted string of valid UTF-8 `bytes`.
    static func appendString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendQuoted(bytes, repairingUTF8: false, to: &out)
    }

    /// A quoted string of arbitrary bytes: each maximal ill-formed UTF-8 subpart becomes
    /// one U+FFFD (Unicode's recommended practice, as Python and WHATWG decoders do).
    static func appendStringRepairingUTF8(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendQuoted(bytes, repairingUTF8: true, to: &out)
    }

    /// Copies runs of plain bytes whole; examines only the bytes between them.
    private static func appendQuoted(_ bytes: UnsafeRawBufferPointer, repairingUTF8: Bool, to out: inout [UInt8]) {
        out.append(0x22)
        let count = bytes.count
        var index = 0
        while index < count {
            let run = JSONBytes.plainRun(bytes, from: index)
            if run > 0 {
                out.appendBytes(UnsafeRawBufferPointer(rebasing: bytes[index..<(index + run)]))
                index += run
                if index == count { break }
            }
            let byte = bytes[index]
            if byte < 0x80 {
                appendEscape(byte, to: &out)
                index += 1
            } else if !repairingUTF8 {
                out.append(byte)
                index += 1
            } else {
                let valid = JSONBytes.utf8Sequence(bytes, at: index)
                if valid.isComplete {
                    out.appendBytes(UnsafeRawBufferPointer(rebasing: bytes[index..<(index + valid.length)]))
                } else {
                    out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                }
                index += valid.length
            }
        }
        out.append(0x22)
    }

    private static func appendEscape(_ byte: UInt8, to out: inout [UInt8]) {
        switch byte {
        case 0x22: append("\\\"", to: &out)
        case 0x5C: append("\\\\", to: &out)
        case 0x0A: append("\\n", to: &out)
        case 0x0D: append("\\r", to: &out)
        case 0x09: append("\\t", to: &out)
        case 0x08: append("\\b", to: &out)
        case 0x0C: append("\\f", to: &out)
        default:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            append("\\u00", to: &out)
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
    }
}
