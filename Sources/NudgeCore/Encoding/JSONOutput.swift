/// Appending JSON text to a byte buffer: strings escaped so any strict parser accepts
/// them (`"`, `\` and control characters), other Unicode kept as it came.
package enum JSONOutput {
    package static func appendDecimal(_ value: Int, to out: inout OutputBuffer) {
        out.appendUnsafe(maximum: 20) { start in
            var magnitude = value.magnitude
            var digits = 1
            var scale: UInt = 10
            while digits < 20 && magnitude >= scale { digits += 1; scale = scale &* 10 }
            var written = 0
            if value < 0 { start[0] = 0x2D; written = 1 }
            var position = written + digits
            repeat {
                position -= 1
                start[position] = UInt8(truncatingIfNeeded: 0x30 + magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            return written + digits
        }
    }

    /// A quoted string of valid UTF-8 `bytes`.
    static func appendString(_ bytes: UnsafeRawBufferPointer, to out: inout OutputBuffer) {
        appendQuoted(bytes, repairingUTF8: false, to: &out)
    }

    /// A quoted string of `text`.
    package static func appendString(_ text: String, to out: inout OutputBuffer) {
        var text = text
        text.withUTF8 { appendString(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// A quoted string of arbitrary bytes: each maximal ill-formed UTF-8 subpart becomes
    /// one U+FFFD (Unicode's recommended practice, as Python and WHATWG decoders do).
    package static func appendStringRepairingUTF8(_ bytes: UnsafeRawBufferPointer, to out: inout OutputBuffer) {
        appendQuoted(bytes, repairingUTF8: true, to: &out)
    }

    /// Copies eight bytes at a time and stops only at bytes that need a look: the
    /// word is stored whole, then the write position advances to the first special
    /// byte in it. Room is reserved for the worst case (every byte a 6-byte `\u00XX`,
    /// plus the slack of one word), so the loop itself checks no bounds.
    private static func appendQuoted(_ bytes: UnsafeRawBufferPointer, repairingUTF8: Bool, to out: inout OutputBuffer) {
        let count = bytes.count
        out.appendUnsafe(maximum: count * 6 + 2 + 8) { start in
            var to = start
            to.pointee = 0x22
            to += 1
            guard let from = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
                to.pointee = 0x22
                return 2
            }
            var index = 0
            while index < count {
                if index &+ 8 <= count {
                    let word = UnsafeRawPointer(from + index).loadUnaligned(as: UInt64.self)
                    UnsafeMutableRawPointer(to).storeBytes(of: word, as: UInt64.self)
                    // Valid UTF-8 needs only `"`, `\` and controls looked at.
                    let special = repairingUTF8
                        ? JSONBytes.specialMask(UInt64(littleEndian: word))
                        : JSONBytes.escapeMask(UInt64(littleEndian: word))
                    if special == 0 {
                        index &+= 8
                        to += 8
                        continue
                    }
                    let plain = special.trailingZeroBitCount >> 3
                    index &+= plain
                    to += plain
                }
                let byte = from[index]
                if byte == 0x22 || byte == 0x5C {  // the usual case in a JSON line: `\"` or `\\`
                    to[0] = 0x5C
                    to[1] = byte
                    to += 2
                    index &+= 1
                } else if !JSONBytes.isSpecial(byte) || (byte >= 0x80 && !repairingUTF8) {
                    to.pointee = byte
                    to += 1
                    index &+= 1
                } else if byte < 0x80 {
                    to += writeEscape(byte, at: to)
                    index &+= 1
                } else {
                    let sequence = JSONBytes.utf8Sequence(bytes, at: index)
                    if sequence.isComplete {
                        to.update(from: from + index, count: sequence.length)
                        to += sequence.length
                    } else {
                        to[0] = 0xEF; to[1] = 0xBF; to[2] = 0xBD
                        to += 3
                    }
                    index &+= sequence.length
                }
            }
            to.pointee = 0x22
            return to + 1 - start
        }
    }

    /// Writes the escape of an ASCII byte that JSON strings cannot hold; returns its length.
    @inline(__always)
    private static func writeEscape(_ byte: UInt8, at to: UnsafeMutablePointer<UInt8>) -> Int {
        to[0] = 0x5C
        switch byte {
        case 0x22: to[1] = 0x22
        case 0x5C: to[1] = 0x5C
        case 0x0A: to[1] = 0x6E
        case 0x0D: to[1] = 0x72
        case 0x09: to[1] = 0x74
        case 0x08: to[1] = 0x62
        case 0x0C: to[1] = 0x66
        default:
            let hex: StaticString = "0123456789abcdef"
            to[1] = 0x75; to[2] = 0x30; to[3] = 0x30
            to[4] = hex.utf8Start[Int(byte >> 4)]
            to[5] = hex.utf8Start[Int(byte & 0xF)]
            return 6
        }
        return 2
    }
}
