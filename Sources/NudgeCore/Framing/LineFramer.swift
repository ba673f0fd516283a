import CBytes

/// One line of the decompressed stream, as the framer hands it out.
///
/// `bytes` is valid until the next call on the framer that handed it out.
package struct FramedLine {
    /// The line without its `\n` and without one trailing `\r`. For a line longer
    /// than the framer's limit that had to be carried across chunks, only a prefix.
    package var bytes: UnsafeRawBufferPointer
    /// The 1-based physical line number in the decompressed stream.
    package var number: Int
    /// The line's full length in bytes (after removing the `\r`).
    package var length: Int

    package init(bytes: UnsafeRawBufferPointer, number: Int, length: Int) {
        self.bytes = bytes
        self.number = number
        self.length = length
    }
}

/// Splits a byte stream into lines exactly as the contract frames records.
///
/// Lines are split on `\n`; one `\r` before it is removed; a last line without `\n`
/// is a line too; lines of only spaces and tabs are skipped but keep their number;
/// a UTF-8 byte-order mark at the very start is ignored. A line that lies whole inside
/// one chunk is handed out without copying. A line that spans chunks is carried in a
/// buffer that holds at most `maxLineBytes + 1` bytes (4100 when the limit is lower):
/// past that the line is known to be too long, so only its length is counted and a
/// prefix kept.
///
/// Like a NIO decoder, the framer hands out lines on request and remembers how far it
/// got: the caller passes each chunk with a position, and asks for lines until there
/// are none:
///
/// ```swift
/// var position = 0
/// while let line = framer.nextLine(in: chunk, from: &position) { … }
/// // after the last chunk:
/// if let last = framer.finish() { … }
/// ```
///
/// A line's `bytes` point into the chunk or into the framer's carry buffer, and are
/// valid until the next call on the framer (and, for the chunk, while the chunk is).
/// The framer owns that buffer, so it is noncopyable.
package struct LineFramer: ~Copyable {
    /// A carried line longer than this (after removing the `\r`) keeps only a prefix
    /// in `bytes`; `length` still tells its size.
    package let maxLineBytes: Int
    /// Physical lines completed so far.
    package private(set) var linesSeen = 0

    /// The carried line's kept bytes (at most `carryLimit` + 3 for a byte-order mark).
    private var carry: UnsafeMutableRawPointer
    private var carryCapacity: Int
    private var carryCount = 0
    /// The carried line's length so far, including bytes not kept.
    private var carriedLength = 0
    /// Bytes of the carried line that are neither space nor tab, counted up to
    /// `nonBlankEnough`.
    private var carriedNonBlank = 0
    private static let nonBlankEnough = 5
    private var carriedLastByte: UInt8 = 0
    private var atStreamStart = true
    /// The carry holds a line handed out by the last call: cleared at the next.
    private var carryHandedOut = false

    /// Enough to tell a too-long line (the limit plus a possible `\r`), and at least
    /// enough for the `raw` prefix of a dropped record plus one UTF-8 sequence.
    private var carryLimit: Int { max(maxLineBytes + 1, RecordLimits.rawBytes + 4) }

    package init(maxLineBytes: Int) {
        precondition(maxLineBytes > 0)
        self.maxLineBytes = maxLineBytes
        carryCapacity = 4096
        carry = .allocate(byteCount: carryCapacity, alignment: 16)
    }

    deinit { carry.deallocate() }

    /// The next complete, non-blank line of `chunk` at or after `position`, which it
    /// moves past the line; `nil` once the rest of the chunk is taken into the carry
    /// (a line that has not ended yet), when `position` is at the chunk's end.
    package mutating func nextLine(in chunk: UnsafeRawBufferPointer, from position: inout Int) -> FramedLine? {
        releaseHandedOutCarry()
        guard let base = chunk.baseAddress else { return nil }
        let end = chunk.count
        while position < end {
            let start = position
            guard let newline = Self.firstNewline(in: base, from: start, to: end) else {
                append(UnsafeRawBufferPointer(start: base + start, count: end - start))
                position = end
                return nil
            }
            linesSeen += 1
            position = newline + 1
            if carriedLength == 0 && !atStreamStart {
                if let line = wholeLine(UnsafeRawBufferPointer(start: base + start, count: newline - start)) {
                    return line
                }
            } else {
                append(UnsafeRawBufferPointer(start: base + start, count: newline - start))
                if let line = carriedLine() { return line }
            }
        }
        return nil
    }

    /// The offset of the first `\n` in `base[start..<end]`.
    @inline(__always)
    package static func firstNewline(in base: UnsafeRawPointer, from start: Int, to end: Int) -> Int? {
        let found = nudge_find_byte(base + start, 0x0A, end - start)
        return found < 0 ? nil : start + found
    }

    /// Ends the stream: a last line without `\n` becomes a line (`nil` when there is
    /// none, or it is blank).
    package mutating func finish() -> FramedLine? {
        releaseHandedOutCarry()
        guard carriedLength > 0 else { return nil }
        linesSeen += 1
        return carriedLine()
    }

    /// The unterminated bytes held when a stream ends at a fault: its line number,
    /// a prefix of at most `limit` bytes, and its full length. `nil` when there are none.
    package func pendingFragment(limit: Int) -> (number: Int, prefix: [UInt8], length: Int)? {
        let bom = byteOrderMarkLength
        guard !carryHandedOut, carriedLength > bom else { return nil }
        let kept = UnsafeRawBufferPointer(start: carry + bom, count: min(carryCount - bom, limit))
        return (linesSeen + 1, Array(kept), carriedLength - bom)
    }

    /// 3 when the stream's first line, carried, starts with a UTF-8 byte-order mark.
    private var byteOrderMarkLength: Int {
        guard atStreamStart, carryCount >= 3 else { return 0 }
        let bytes = carry.assumingMemoryBound(to: UInt8.self)
        return bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
    }

    private mutating func releaseHandedOutCarry() {
        guard carryHandedOut else { return }
        carryHandedOut = false
        carryCount = 0
        carriedLength = 0
        carriedNonBlank = 0
        carriedLastByte = 0
        // A huge line's buffer is not kept for the rest of the stream.
        if carryCapacity > 64 * 1024 {
            carry.deallocate()
            carryCapacity = 4096
            carry = .allocate(byteCount: carryCapacity, alignment: 16)
        }
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        // The first line may carry a byte-order mark that does not count.
        let room = carryLimit + (atStreamStart ? 3 : 0) - carryCount
        if room > 0 {
            let kept = min(room, bytes.count)
            if carryCount + kept > carryCapacity {
                var capacity = carryCapacity * 2
                while capacity < carryCount + kept { capacity *= 2 }
                let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
                grown.copyMemory(from: carry, byteCount: carryCount)
                carry.deallocate()
                carry = grown
                carryCapacity = capacity
            }
            (carry + carryCount).copyMemory(from: bytes.baseAddress!, byteCount: kept)
            carryCount += kept
        }
        carriedLength += bytes.count
        // Telling a blank line needs only its first few non-blank bytes: past a `\r` and
        // a byte-order mark, which do not count, one more settles it. So a long line
        // is not walked byte by byte.
        if carriedNonBlank < Self.nonBlankEnough {
            for byte in bytes where byte != 0x20 && byte != 0x09 {
                carriedNonBlank += 1
                if carriedNonBlank == Self.nonBlankEnough { break }
            }
        }
        carriedLastByte = bytes[bytes.count - 1]
    }

    /// The carried line, now ended, or `nil` when it is blank. Either way the carry is
    /// cleared at the next call.
    private mutating func carriedLine() -> FramedLine? {
        carryHandedOut = true
        var length = carriedLength
        var nonBlank = carriedNonBlank
        if carriedLastByte == 0x0D {
            length -= 1
            nonBlank -= 1
        }
        let skip = byteOrderMarkLength
        atStreamStart = false
        length -= skip
        nonBlank -= skip
        guard nonBlank > 0 else {
            releaseHandedOutCarry()
            return nil
        }
        let kept = min(carryCount - skip, length)
        return FramedLine(bytes: UnsafeRawBufferPointer(start: carry + skip, count: kept), number: linesSeen, length: length)
    }

    /// A line that lies whole in the chunk, without its `\r`, or `nil` when it is blank.
    @inline(__always)
    private func wholeLine(_ raw: UnsafeRawBufferPointer) -> FramedLine? {
        var line = raw
        if let last = line.last, last == 0x0D {
            line = UnsafeRawBufferPointer(start: line.baseAddress, count: line.count - 1)
        }
        // Most lines start with `{`: the blank test ends at the first byte.
        for byte in line where byte != 0x20 && byte != 0x09 {
            return FramedLine(bytes: line, number: linesSeen, length: line.count)
        }
        return nil
    }
}
