/// Tests on 16 bytes at once, for the scanner's runs of plain bytes.
///
/// The scanner spends most of a line inside strings, whose bytes need one decision each:
/// is it plain (printable ASCII other than `"` and `\`), or must the scanner stop? Rather
/// than decide byte by byte, it loads 16 bytes as a `SIMD16<UInt8>` block and computes,
/// for every lane at once, a *flag*: a byte whose high bit (0x80) is set where the lane is
/// one the scanner must stop at. The position of the first flagged lane is then one
/// trailing-zero count away, so a plain run of any length costs a few instructions per
/// 16 bytes, and a short string costs one block.
///
/// The flags are built from wrapping arithmetic and bitwise operations only (lanes never
/// carry into each other, so every lane's answer is exact), because those compile to
/// single SSE2/NEON instructions, whereas Swift's lane-wise comparisons (`.==`, `.<`)
/// build a `SIMDMask` one lane at a time:
///
/// - *lane equals `c`*: with `x = lane ^ c`, the high bit of `(x &- 1) & ~x` is set
///   exactly when `x` is 0;
/// - *lane below 0x20*: the high bit of `(lane &- 0x20) & ~lane` (the subtraction wraps
///   only for lanes below 0x20, and `~lane` keeps lanes of 0x80 and above out);
/// - *lane at or above 0x80*: the lane's own high bit.
///
/// Callers load a block only where 16 bytes remain before the line's end, and finish the
/// last, shorter stretch byte by byte, so nothing is read past the line.
enum JSONBlock {
    typealias Bytes = SIMD16<UInt8>

    /// The bytes in one block.
    static let width = 16

    /// The 16 bytes at `pointer`, which must have 16 readable bytes; any alignment.
    @inline(__always)
    static func load(_ pointer: UnsafePointer<UInt8>) -> Bytes {
        UnsafeRawPointer(pointer).loadUnaligned(as: Bytes.self)
    }

    /// High bit set in each lane of `block` equal to `byte`.
    @inline(__always)
    static func equalFlags(_ block: Bytes, _ byte: UInt8) -> Bytes {
        let difference = block ^ Bytes(repeating: byte)
        return (difference &- Bytes(repeating: 1)) & ~difference
    }

    /// High bit set in each lane a string's plain run stops at: `"`, `\`, a control
    /// byte below 0x20, or a byte of 0x80 or above (the start of UTF-8 to validate).
    /// The lane-wise twin of ``JSONBytes/isSpecial(_:)``.
    @inline(__always)
    static func stringSpecialFlags(_ block: Bytes) -> Bytes {
        let control = (block &- Bytes(repeating: 0x20)) & ~block
        return equalFlags(block, 0x22) | equalFlags(block, 0x5C) | control | block
    }

    /// High bit set in each lane that is not JSON whitespace (space, tab, LF, CR).
    @inline(__always)
    static func nonWhitespaceFlags(_ block: Bytes) -> Bytes {
        ~(equalFlags(block, 0x20) | equalFlags(block, 0x0A) | equalFlags(block, 0x0D) | equalFlags(block, 0x09))
    }

    /// High bit set in each lane that is not an ASCII digit. With `d = lane &- 0x30`, a
    /// digit has `d` below 10; `d &+ 0x76` reaches 0x80 for `d` from 10 to 0x7F, and `d`'s
    /// own high bit covers the rest.
    @inline(__always)
    static func nonDigitFlags(_ block: Bytes) -> Bytes {
        let d = block &- Bytes(repeating: 0x30)
        return (d &+ Bytes(repeating: 0x76)) | d
    }

    /// The index of the first lane of `flags` whose high bit is set, or ``width`` when
    /// there is none. The block is read as two little-endian 64-bit halves, in which a
    /// flagged lane `k` is bit `8k + 7`.
    @inline(__always)
    static func firstFlagged(_ flags: Bytes) -> Int {
        let halves = unsafeBitCast(flags & Bytes(repeating: 0x80), to: SIMD2<UInt64>.self)
        let low = UInt64(littleEndian: halves[0])
        if low != 0 { return low.trailingZeroBitCount &>> 3 }
        let high = UInt64(littleEndian: halves[1])
        if high != 0 { return 8 &+ high.trailingZeroBitCount &>> 3 }
        return width
    }
}
