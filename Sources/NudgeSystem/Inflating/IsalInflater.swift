import CIsal

/// Streams the members of a gzip file through ISA-L's igzip, one input chunk at a time:
/// the same contract as ``GzipInflater`` (zlib), several times faster where ISA-L is
/// installed.
///
/// Every member of a multi-member file is inflated as one continuous stream
/// (`cat a.gz b.gz`). ISA-L's `inflate_state` lives at a stable heap address (made by
/// the CIsal shim) owned by this object, set up in `init` and freed in `deinit`; ISA-L
/// never keeps a Swift pointer past the call that lends it.
///
/// Faults match zlib's: the same ``GzipFault`` kind at the same offset, and for
/// `.corrupt` zlib's messages where ISA-L's statuses map onto them (header flags and
/// method, header CRC, trailer CRC-32 and ISIZE: ISA-L leaves the first two unchecked,
/// so they are checked here, and compares CRC-32 and ISIZE at once, so they are told
/// apart here). Where they differ, only on damaged input:
/// - In corrupt deflate data the message names ISA-L's status (`invalid deflate block`,
///   `invalid deflate symbol`, `invalid distance too far back`), and the offset is where
///   ISA-L's decoding stood: zlib's in most cases, a few dozen bytes off in some (ISA-L
///   notices some bad Huffman tables later or earlier than zlib). The bytes handed on
///   before it are a prefix of zlib's, shorter by up to 532 bytes (see `errorOverrun`),
///   or by up to ISA-L's 64 KiB staging buffer when `outputCapacity` is smaller than
///   that; or, where ISA-L accepts a Huffman table zlib rejects, a few bytes longer.
/// - At a truncation (same fault and offset) ISA-L may not have handed on the last
///   few bytes whose bits it read: it decodes up to three literals per table lookup.
final class IsalInflater: GzipStreamInflater {
    private let stream: OpaquePointer
    private let output: UnsafeMutableRawBufferPointer
    /// Compressed bytes ISA-L took so far, across members.
    private(set) var compressedOffset = 0
    /// Compressed bytes of the current member ISA-L took, to find its CM and FLG bytes.
    private var memberOffset = 0
    /// The current member's CM byte, once seen.
    private var methodByte: UInt8 = 0
    /// The last eight input bytes ISA-L took, the newest in the top byte: the trailer,
    /// when ISA-L reports that it does not match.
    private var lastEight: UInt64 = 0
    /// The last member ended; the next byte must start a new member.
    private var betweenMembers = false
    /// Bytes of the next member's magic seen so far while `betweenMembers`.
    private var pendingMagic = 0
    private static let gzipMagic: [UInt8] = [0x1f, 0x8b]
    /// How many bytes at the end of a call's output may be bogus when ISA-L reports an
    /// invalid symbol or distance: the longest match (258) and the assembly decoder's
    /// output slop (16 + 258).
    private static let errorOverrun = 258 + 16 + 258

    /// Where a fault was found, in compressed bytes: where garbage after a member
    /// begins, the byte that failed a header or trailer check, or where decoding stood
    /// at bad deflate data.
    private(set) var faultOffset = 0

    /// - Parameter outputCapacity: how many inflated bytes are handed out at a time.
    /// - Throws: ``InflateBackendError/isalUnavailable(_:)`` when ISA-L cannot be used.
    init(outputCapacity: Int = 256 * 1024) throws(InflateBackendError) {
        precondition(outputCapacity > 0 && outputCapacity <= Int(UInt32.max), "output capacity \(outputCapacity)")
        guard let stream = nudge_isal_create() else {
            throw .isalUnavailable(InflateBackend.isalUnavailableReason ?? "out of memory for ISA-L's inflate state")
        }
        self.stream = stream
        output = .allocate(byteCount: outputCapacity, alignment: 16)
    }

    deinit {
        nudge_isal_free(stream)
        output.deallocate()
    }

    /// Inflates one chunk of compressed input, handing every run of inflated bytes to `sink`.
    ///
    /// The buffer passed to `sink` is valid only during the call.
    func inflate(
        _ input: UnsafeRawBufferPointer,
        into sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        guard input.count > 0 else { return }
        var cursor = 0
        while cursor < input.count {
            if betweenMembers {
                // A new member must begin with 1f 8b; anything else is garbage.
                let expected = Self.gzipMagic[pendingMagic]
                guard input[cursor] == expected else {
                    faultOffset = compressedOffset
                    throw GzipFault.trailingGarbage
                }
                pendingMagic += 1
                cursor += 1
                if pendingMagic == 2 {
                    // The magic may straddle two chunks: hand both bytes to the reset stream.
                    betweenMembers = false
                    pendingMagic = 0
                    nudge_isal_reset(stream)
                    memberOffset = 0
                    _ = try Self.gzipMagic.withUnsafeBytes { try inflateBytes($0, sink: sink) }
                }
                continue
            }
            cursor += try inflateBytes(UnsafeRawBufferPointer(rebasing: input[cursor...]), sink: sink)
        }
    }

    /// Call after the last input chunk: a stream that stopped inside a member is truncated.
    func finish() throws(GzipFault) {
        if !betweenMembers || pendingMagic != 0 {
            faultOffset = compressedOffset + pendingMagic
            throw .truncated
        }
    }

    /// Runs ISA-L over `input` until it is consumed or a member ends.
    /// Returns how many input bytes ISA-L took.
    private func inflateBytes(
        _ input: UnsafeRawBufferPointer,
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
        guard let inBase = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        let outBase = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var taken = 0
        while true {
            let offered = min(input.count - taken, Int(UInt32.max))
            if memberOffset < 4 { try checkHeader(UnsafeRawBufferPointer(start: inBase + taken, count: offered)) }
            var consumed: UInt32 = 0
            var produced: UInt32 = 0
            let status = nudge_isal_inflate(
                stream, inBase + taken, UInt32(offered), &consumed, outBase, UInt32(output.count), &produced)
            remember(UnsafeRawBufferPointer(start: inBase + taken, count: Int(consumed)))
            taken += Int(consumed)
            compressedOffset += Int(consumed)
            memberOffset += Int(consumed)
            var valid = Int(produced)
            if status == Int32(NUDGE_ISAL_INVALID_SYMBOL) || status == Int32(NUDGE_ISAL_INVALID_LOOKBACK) {
                // The bytes before the bad symbol are good, but ISA-L 2.30's assembly
                // decoder counts up to `errorOverrun` bytes after them that it never wrote
                // (a back-reference's length, and its output slop): hand none of those on.
                valid = max(valid - Self.errorOverrun, 0)
            }
            if valid > 0 {
                try sink(UnsafeRawBufferPointer(start: outBase, count: valid))
            }
            switch status {
            case Int32(NUDGE_ISAL_MEMBER_END):
                betweenMembers = true
                return taken
            case Int32(NUDGE_ISAL_OK):
                // Output space left over: ISA-L wants more input.
                if Int(produced) < output.count && taken == input.count { return taken }
                if consumed == 0 && produced == 0 {
                    // Never seen; it would otherwise loop for ever.
                    faultOffset = compressedOffset
                    throw GzipFault.corrupt("ISA-L made no progress")
                }
            case Int32(NUDGE_ISAL_INCORRECT_CHECKSUM):
                throw checksumFault()
            default:
                throw dataFault(status)
            }
        }
    }

    /// zlib rejects a member whose CM byte is not 8 (deflate) or whose FLG byte sets a
    /// reserved bit, at the FLG byte; ISA-L skips the second check, so both are made here.
    private func checkHeader(_ bytes: UnsafeRawBufferPointer) throws(GzipFault) {
        for (i, byte) in bytes.prefix(4 - memberOffset).enumerated() {
            switch memberOffset + i {
            case 2: methodByte = byte
            case 3:
                faultOffset = compressedOffset + i
                if methodByte != 8 { throw .corrupt("unknown compression method") }
                if byte & 0xE0 != 0 { throw .corrupt("unknown header flags set") }
            default: break
            }
        }
    }

    /// Keeps the last eight bytes of `taken` in `lastEight`.
    private func remember(_ taken: UnsafeRawBufferPointer) {
        for byte in taken.suffix(8) {
            lastEight = lastEight >> 8 | UInt64(byte) << 56
        }
    }

    /// A header CRC (FHCRC) or trailer mismatch, told apart and placed as zlib does.
    private func checksumFault() -> GzipFault {
        guard nudge_isal_member_decoded(stream) != 0 else {
            faultOffset = max(compressedOffset - 1, 0)
            return .corrupt("header crc mismatch")
        }
        // The trailer is the last eight bytes ISA-L took: CRC-32, then ISIZE.
        if UInt32(truncatingIfNeeded: lastEight) != nudge_isal_crc(stream) {
            faultOffset = max(compressedOffset - 5, 0)
            return .corrupt("incorrect data check")
        }
        faultOffset = max(compressedOffset - 1, 0)
        return .corrupt("incorrect length check")
    }

    /// Bad deflate data: placed at the last byte decoding reached, not counting what
    /// ISA-L read ahead into its bit buffer (zlib's offset in most cases: see the type's
    /// documentation).
    private func dataFault(_ status: Int32) -> GzipFault {
        let unread = Int(nudge_isal_buffered_bytes(stream))
        faultOffset = min(max(compressedOffset - unread - 1, 0), compressedOffset)
        switch status {
        case Int32(NUDGE_ISAL_INVALID_BLOCK): return .corrupt("invalid deflate block")
        case Int32(NUDGE_ISAL_INVALID_SYMBOL): return .corrupt("invalid deflate symbol")
        case Int32(NUDGE_ISAL_INVALID_LOOKBACK): return .corrupt("invalid distance too far back")
        case Int32(NUDGE_ISAL_INVALID_WRAPPER): return .corrupt("incorrect header check")
        case Int32(NUDGE_ISAL_UNSUPPORTED_METHOD): return .corrupt("unknown compression method")
        default: return .corrupt("ISA-L status \(status)")
        }
    }
}
