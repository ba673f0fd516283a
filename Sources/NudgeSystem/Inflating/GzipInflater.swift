import CZlib

/// Why a gzip stream could not be inflated to its end.
package enum GzipFault: Error, Equatable, Sendable {
    /// The inflater found bytes that are not a valid deflate or gzip stream (zlib's
    /// `Z_DATA_ERROR`, or an ISA-L error); the message is the library's.
    case corrupt(String)
    /// The input ended inside a member.
    case truncated
    /// A member ended and the bytes after it do not start another member.
    case trailingGarbage

    /// A sentence for the run summary and the dropped spool.
    package var message: String {
        switch self {
        case .corrupt(let zlibMessage): return "gzip stream is corrupt: \(zlibMessage)"
        case .truncated: return "gzip stream is truncated: the input ended inside a member"
        case .trailingGarbage: return "bytes after the last gzip member are not another gzip member"
        }
    }
}

/// Streams the members of a gzip file through zlib's `inflate`, one input chunk at a time.
///
/// Every member of a multi-member file is inflated as one continuous stream
/// (`cat a.gz b.gz`). The `z_stream` lives at a stable heap address owned by this
/// object, set up in `init` and ended in `deinit`; zlib never sees a Swift pointer
/// outside the closure that lends it.
final class GzipInflater: GzipStreamInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableRawBufferPointer
    /// Compressed bytes consumed by zlib so far, across members: the fault offset.
    private(set) var compressedOffset: Int = 0
    /// The last member ended; the next byte must start a new member.
    private var betweenMembers = false
    /// Bytes of the next member's magic seen so far while `betweenMembers`.
    private var pendingMagic: [UInt8] = []
    private static let gzipMagic: [UInt8] = [0x1f, 0x8b]

    /// Where a fault was found, in compressed bytes: where garbage after a member
    /// begins, or the last byte zlib read before it reported bad data.
    private(set) var faultOffset = 0

    /// - Parameter outputCapacity: how many inflated bytes are handed out at a time.
    init(outputCapacity: Int = 256 * 1024) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = .allocate(byteCount: outputCapacity, alignment: 16)
        // 15 + 16: a 32 KiB window, gzip wrapper only.
        let status = nudge_inflateInit2(stream, 15 + 16)
        precondition(status == Z_OK, "inflateInit2 failed: \(status) (out of memory)")
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Inflates one chunk of compressed input, handing every run of inflated bytes to `sink`.
    ///
    /// The buffer passed to `sink` is valid only during the call.
    func inflate(
        _ input: UnsafeRawBufferPointer,
        into sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        guard let base = input.baseAddress, input.count > 0 else { return }
        var cursor = 0
        while cursor < input.count {
            if betweenMembers {
                // A new member must begin with 1f 8b; anything else is garbage.
                let expected: UInt8 = pendingMagic.isEmpty ? 0x1f : 0x8b
                guard input[cursor] == expected else {
                    faultOffset = compressedOffset
                    throw GzipFault.trailingGarbage
                }
                pendingMagic.append(expected)
                cursor += 1
                if pendingMagic.count == 2 {
                    // The magic may straddle two chunks: hand both bytes to the reset stream.
                    betweenMembers = false
                    pendingMagic.removeAll(keepingCapacity: true)
                    inflateReset(stream)
                    _ = try Self.gzipMagic.withUnsafeBytes { try inflateBytes($0, sink: sink) }
                }
                continue
            }
            let consumed = try inflateBytes(
                UnsafeRawBufferPointer(start: base + cursor, count: input.count - cursor), sink: sink)
            cursor += consumed
        }
    }

    /// Call after the last input chunk: a stream that stopped inside a member is truncated.
    func finish() throws(GzipFault) {
        if !betweenMembers || !pendingMagic.isEmpty {
            faultOffset = compressedOffset + pendingMagic.count
            throw .truncated
        }
    }

    /// Runs `inflate` over `input` until it is consumed or a member ends.
    /// Returns how many input bytes zlib consumed.
    @discardableResult
    private func inflateBytes(
        _ input: UnsafeRawBufferPointer,
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
        guard let inBase = input.baseAddress else { return 0 }
        let outBase = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.next_in = UnsafeMutablePointer(
            mutating: inBase.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        defer {
            // Never leave zlib holding a pointer past the lending closure.
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
            stream.pointee.next_out = nil
            stream.pointee.avail_out = 0
        }
        while true {
            stream.pointee.next_out = outBase
            stream.pointee.avail_out = uInt(output.count)
            let availInBefore = stream.pointee.avail_in
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            let produced = output.count - Int(stream.pointee.avail_out)
            compressedOffset += Int(availInBefore - stream.pointee.avail_in)
            if produced > 0 {
                try sink(UnsafeRawBufferPointer(start: output.baseAddress, count: produced))
            }
            switch status {
            case Z_STREAM_END:
                betweenMembers = true
                return input.count - Int(stream.pointee.avail_in)
            case Z_OK:
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 {
                    return input.count
                }
            case Z_BUF_ERROR:
                // No progress possible: all input consumed, output space was free.
                return input.count - Int(stream.pointee.avail_in)
            case Z_DATA_ERROR, Z_NEED_DICT:
                faultOffset = max(compressedOffset - 1, 0)
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "invalid data"
                throw GzipFault.corrupt(message)
            case Z_MEM_ERROR:
                faultOffset = compressedOffset
                throw GzipFault.corrupt("zlib ran out of memory")
            default:
                faultOffset = compressedOffset
                throw GzipFault.corrupt("zlib status \(status)")
            }
        }
    }
}
