/// Byte tests shared by the scanner and the writer.
enum JSONBytes {
    /// The high bit of each of the 8 bytes of `word` (little-endian order) that is `"`,
    /// `\\`, below 0x20 or above 0x7F: the bytes a JSON string cannot hold as they are,
    /// or that need UTF-8 checking. A SWAR test: a byte may be flagged wrongly only
    /// above a truly special one, so zero means none and the lowest flag is exact.
    @inline(__always)
    static func specialMask(_ word: UInt64) -> UInt64 {
        escapeMask(word) | (word & 0x8080_8080_8080_8080)
    }

    /// Like ``specialMask(_:)`` without the bytes above 0x7F: the bytes JSON text must
    /// escape, for text already known to be valid UTF-8.
    @inline(__always)
    static func escapeMask(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let hasQuote = (quote &- ones) & ~quote
        let hasBackslash = (backslash &- ones) & ~backslash
        let hasControl = (word &- (ones &* 0x20)) & ~word
        return (hasQuote | hasBackslash | hasControl) & 0x8080_8080_8080_8080
    }

    /// The index of the first `"`, `\\` or control byte of `bytes` in `from..<limit`
    /// (`limit` when there is none), eight bytes at a time: where a string's plain run ends.
    @inline(__always)
    static func plainRunEnd(_ bytes: UnsafeRawBufferPointer, from: Int, limit: Int) -> Int {
        var at = from
        let base = bytes.baseAddress!
        while at + 8 <= limit {
            let mask = escapeMask(UInt64(littleEndian: (base + at).loadUnaligned(as: UInt64.self)))
            if mask != 0 { return at + mask.trailingZeroBitCount / 8 }
            at += 8
        }
        while at < limit, bytes[at] != 0x22 && bytes[at] != 0x5C && bytes[at] >= 0x20 { at += 1 }
        return at
    }

    /// The value of the four hex digits at `at`, or nil when they are not four hex digits.
    @inline(__always)
    static func hex4(_ bytes: UnsafeRawBufferPointer, at: Int) -> UInt16? {
        guard at >= 0, at + 4 <= bytes.count else { return nil }
        var value: UInt16 = 0
        for i in at..<(at + 4) {
            let byte = bytes[i]
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// Whether `byte` is one of those bytes.
    @inline(__always)
    static func isSpecial(_ byte: UInt8) -> Bool {
        byte == 0x22 || byte == 0x5C || (byte &- 0x20) >= 0x60
    }


    /// The UTF-8 sequence whose lead byte is at `index` (RFC 3629: no overlongs, no
    /// surrogates, nothing above U+10FFFF): its length when complete and well-formed,
    /// else the length of its maximal ill-formed subpart (at least 1).
    @inline(__always)
    static func utf8Sequence(_ bytes: UnsafeRawBufferPointer, at index: Int) -> (length: Int, isComplete: Bool) {
        let lead = bytes[index]
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return (1, false)
        }
        var k = 1
        while k < length {
            guard index + k < bytes.count else { return (k, false) }
            let byte = bytes[index + k]
            let (lo, hi) = k == 1 ? (low, high) : (0x80, 0xBF)
            guard byte >= lo && byte <= hi else { return (k, false) }
            k += 1
        }
        return (length, true)
    }
}
