/// Decoding of JSON string contents that the scanner already validated.
package enum JSONString {
    /// Decodes `content` (the bytes between the quotes of a valid JSON string) into
    /// UTF-8 at `out`, which must have room for `content.count` bytes: decoding never
    /// grows a string. Returns the decoded length.
    static func decode(_ content: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var read = 0
        var written = 0
        let count = content.count
        while read < count {
            let byte = content[read]
            if byte != 0x5C {
                out[written] = byte
                written += 1
                read += 1
                continue
            }
            let code = content[read + 1]
            read += 2
            switch code {
            case 0x62: out[written] = 0x08; written += 1
            case 0x66: out[written] = 0x0C; written += 1
            case 0x6E: out[written] = 0x0A; written += 1
            case 0x72: out[written] = 0x0D; written += 1
            case 0x74: out[written] = 0x09; written += 1
            case 0x75:
                var scalar = UInt32(hex4(content, read))
                read += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = UInt32(hex4(content, read + 2))
                    read += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                written += encodeUTF8(scalar, into: out + written)
            default:  // `"`, `\`, `/`
                out[written] = code
                written += 1
            }
        }
        return written
    }

    /// Decodes into a new array (for the rare escaped keys and for tests).
    package static func decode(_ content: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: content.count) { buffer, initialized in
            initialized = decode(content, into: buffer.baseAddress!)
        }
    }

    /// Decodes the contents of a JSON string that nothing validated (read back from a
    /// spool file): nil when an escape is incomplete or unknown, a `\u` escape is not
    /// four hex digits or leaves a surrogate unpaired.
    /// Runs without escapes are copied whole.
    static func decodeChecked(_ content: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let base = content.baseAddress else { return [] }
        let count = content.count
        var failed = false
        let decoded = [UInt8](unsafeUninitializedCapacity: count) { out, written in
            var read = 0
            written = 0
            while read < count {
                var run = JSONBytes.plainRunEnd(content, from: read, limit: count)
                while run < count && content[run] != 0x5C { run = JSONBytes.plainRunEnd(content, from: run + 1, limit: count) }
                if run > read {
                    (out.baseAddress! + written).initialize(from: (base + read).assumingMemoryBound(to: UInt8.self),
                                                            count: run - read)
                    written += run - read
                    read = run
                    continue
                }
                guard read + 1 < count else { failed = true; return }
                let code = content[read + 1]
                read += 2
                switch code {
                case 0x22, 0x5C, 0x2F: out[written] = code
                case 0x62: out[written] = 0x08
                case 0x66: out[written] = 0x0C
                case 0x6E: out[written] = 0x0A
                case 0x72: out[written] = 0x0D
                case 0x74: out[written] = 0x09
                case 0x75:
                    guard var scalar = JSONBytes.hex4(content, at: read).map(UInt32.init) else { failed = true; return }
                    read += 4
                    if scalar >= 0xD800 && scalar <= 0xDBFF {
                        guard read + 1 < count, content[read] == 0x5C, content[read + 1] == 0x75,
                              let low = JSONBytes.hex4(content, at: read + 2).map(UInt32.init), low >= 0xDC00 && low <= 0xDFFF
                        else { failed = true; return }
                        read += 6
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                        failed = true
                        return
                    }
                    written += encodeUTF8(scalar, into: out.baseAddress! + written)
                    continue
                default:
                    failed = true
                    return
                }
                written += 1
            }
        }
        return failed ? nil : decoded
    }

    @inline(__always)
    private static func hex4(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        var value: UInt16 = 0
        for i in at..<(at + 4) {
            let byte = bytes[i] | 0x20  // digits are unaffected; letters fold to lowercase
            value = value << 4 | UInt16(byte <= 0x39 ? byte - 0x30 : byte - 0x61 + 10)
        }
        return value
    }

    /// Writes `scalar` as UTF-8; returns the byte count.
    @inline(__always)
    static func encodeUTF8(_ scalar: UInt32, into out: UnsafeMutablePointer<UInt8>) -> Int {
        switch scalar {
        case ..<0x80:
            out[0] = UInt8(scalar)
            return 1
        case ..<0x800:
            out[0] = UInt8(0xC0 | (scalar >> 6))
            out[1] = UInt8(0x80 | (scalar & 0x3F))
            return 2
        case ..<0x10000:
            out[0] = UInt8(0xE0 | (scalar >> 12))
            out[1] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
            out[2] = UInt8(0x80 | (scalar & 0x3F))
            return 3
        default:
            out[0] = UInt8(0xF0 | (scalar >> 18))
            out[1] = UInt8(0x80 | ((scalar >> 12) & 0x3F))
            out[2] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
            out[3] = UInt8(0x80 | (scalar & 0x3F))
            return 4
        }
    }
}
