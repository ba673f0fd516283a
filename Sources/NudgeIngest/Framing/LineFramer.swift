#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line of the decompressed stream, as the framer hands it out.
///
/// `bytes` is valid only while the closure that received it runs.
public struct FramedLine {
    /// The line without its `\n` and without one trailing `\r`. For a line longer
    /// than the framer's limit that had to be carried across chunks, only a prefix.
    public var bytes: UnsafeRawBufferPointer
    /// The 1-based physical line number in the decompressed stream.
    public var number: Int
    /// The line's full length in bytes (after removing the `\r`).
    public var length: Int
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
public struct LineFramer {
    /// A carried line longer than this (after removing the `\r`) keeps only a prefix
    /// in `bytes`; `length` still tells its size.
    public let maxLineBytes: Int
    /// Physical lines completed so far.
    public private(set) var linesSeen = 0

    private var carry: [UInt8] = []
    /// The carried line's length so far, including bytes not kept.
    private var carriedLength = 0
    /// Bytes of the carried line that are neither space nor tab, counted up to
    /// `nonBlankEnough`.
    private var carriedNonBlank = 0
    private static let nonBlankEnough = 5
    private var carriedLastByte: UInt8 = 0
    private var atStreamStart = true

    /// Enough to tell a too-long line (the limit plus a possible `\r`), and at least
    /// enough for the `raw` prefix of a dropped record plus one UTF-8 sequence.
    private var carryLimit: Int { max(maxLineBytes + 1, RecordEncoder.rawLimit + 4) }

    public init(maxLineBytes: Int) {
        precondition(maxLineBytes > 0)
        self.maxLineBytes = maxLineBytes
    }

    /// Frames `chunk`, calling `emit` for every complete, non-blank line.
    public mutating func consume(
        _ chunk: UnsafeRawBufferPointer,
        _ emit: (FramedLine) throws -> Void
    ) rethrows {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        var start = 0
        let end = chunk.count
        while start < end {
            guard let found = memchr(base + start, 0x0A, end - start) else {
                append(UnsafeRawBufferPointer(start: base + start, count: end - start))
                return
            }
            let newline = UnsafeRawPointer(found) - base
            linesSeen += 1
            if carriedLength == 0 && !atStreamStart {
                let line = UnsafeRawBufferPointer(start: base + start, count: newline - start)
                try emitWhole(line, emit)
            } else {
                append(UnsafeRawBufferPointer(start: base + start, count: newline - start))
                try emitCarried(emit)
            }
            start = newline + 1
        }
    }

    /// Ends the stream: a last line without `\n` becomes a line.
    public mutating func finish(_ emit: (FramedLine) throws -> Void) rethrows {
        guard carriedLength > 0 else { return }
        linesSeen += 1
        try emitCarried(emit)
    }

    /// The unterminated bytes held when a stream ends at a fault: its line number,
    /// a prefix of at most `limit` bytes, and its full length. `nil` when there are none.
    public func pendingFragment(limit: Int) -> (number: Int, prefix: [UInt8], length: Int)? {
        let bom = byteOrderMarkLength
        guard carriedLength > bom else { return nil }
        return (linesSeen + 1, Array(carry.dropFirst(bom).prefix(limit)), carriedLength - bom)
    }

    /// 3 when the stream's first line, carried, starts with a UTF-8 byte-order mark.
    private var byteOrderMarkLength: Int {
        atStreamStart && carry.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        // The first line may carry a byte-order mark that does not count.
        let room = carryLimit + (atStreamStart ? 3 : 0) - carry.count
        if room > 0 {
            carry.appendBytes(UnsafeRawBufferPointer(rebasing: bytes.prefix(room)))
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

    private mutating func emitCarried(_ emit: (FramedLine) throws -> Void) rethrows {
        defer {
            carry.removeAll(keepingCapacity: carry.capacity <= 64 * 1024)
            carriedLength = 0
            carriedNonBlank = 0
            carriedLastByte = 0
        }
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
        guard nonBlank > 0 else { return }
        let kept = min(carry.count - skip, length)
        try carry.withUnsafeBytes { all in
            let line = UnsafeRawBufferPointer(rebasing: all[skip..<(skip + kept)])
            try emit(FramedLine(bytes: line, number: linesSeen, length: length))
        }
    }

    @inline(__always)
    private func emitWhole(
        _ raw: UnsafeRawBufferPointer,
        _ emit: (FramedLine) throws -> Void
    ) rethrows {
        var line = raw
        if let last = line.last, last == 0x0D {
            line = UnsafeRawBufferPointer(start: line.baseAddress, count: line.count - 1)
        }
        // Most lines start with `{`: the blank test ends at the first byte.
        for byte in line where byte != 0x20 && byte != 0x09 {
            try emit(FramedLine(bytes: line, number: linesSeen, length: line.count))
            return
        }
    }
}
