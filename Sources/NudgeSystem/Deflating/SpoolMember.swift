import CIsal
import CZlib
import NudgeCore

/// One gzip member of a compressed spool file (`NNNNNNNN.ndjson.gz`): whole records,
/// about a mebibyte of them, deflated.
///
/// A member is an ordinary gzip member (RFC 1952), so `zcat`, DuckDB, Spark and Athena
/// read a file of them as one stream. Its header carries one extra field, `NI`, that
/// gives the member's own length and its inflated length (as BGZF's `BC` field does),
/// so a reader can step from member to member without inflating any, to seek to a
/// record or to read a file from its end:
///
/// ```
/// 1f 8b 08 04 · mtime 0 · xfl 0 · os 255 · xlen 12 · "NI" · len 8
///   · u32 member length · u32 inflated length        (24 bytes, little-endian)
/// raw deflate data · u32 CRC-32 · u32 inflated length
/// ```
package enum SpoolMember {
    /// Bytes of a member's header.
    package static let headerBytes = 24
    /// Bytes of a member's trailer (CRC-32 and ISIZE).
    package static let trailerBytes = 8

    /// The inflated length a member reaches before it ends at the next record's end
    /// (the last member of a file may be shorter).
    package static let defaultInflatedBytes = 1 << 20

    /// Where the member that starts at the start of `records` ends: just past the first
    /// record end (newline) at or past `inflatedBytes`; nil when `records` holds none.
    /// The records alone decide it, however they were buffered.
    package static func end(of records: UnsafeRawBufferPointer, inflatedBytes: Int) -> Int? {
        guard let base = records.baseAddress, records.count >= inflatedBytes else { return nil }
        return LineFramer.firstNewline(in: base, from: max(inflatedBytes - 1, 0), to: records.count).map { $0 + 1 }
    }

    /// What a member's header says of it.
    package struct Header: Sendable, Equatable {
        /// The whole member's length: header, deflate data and trailer.
        package var memberBytes: Int
        /// The length of its records, inflated.
        package var inflatedBytes: Int
    }

    /// The header at the start of `bytes` (at least ``headerBytes`` of them), or nil
    /// when they do not start a member written here.
    package static func header(_ bytes: UnsafeRawBufferPointer) -> Header? {
        guard bytes.count >= headerBytes,
              bytes[0] == 0x1F, bytes[1] == 0x8B, bytes[2] == 8, bytes[3] == 4,
              bytes[10] == 12, bytes[11] == 0, bytes[12] == UInt8(ascii: "N"), bytes[13] == UInt8(ascii: "I"),
              bytes[14] == 8, bytes[15] == 0
        else { return nil }
        let header = Header(memberBytes: Int(littleEndian32(bytes, at: 16)), inflatedBytes: Int(littleEndian32(bytes, at: 20)))
        guard header.memberBytes > headerBytes + trailerBytes else { return nil }
        return header
    }

    /// The most bytes a member of `inflatedBytes` can take.
    package static func bound(inflatedBytes: Int) -> Int {
        // zlib's deflateBound for raw deflate at the default memLevel, plus the wrapper.
        inflatedBytes + (inflatedBytes >> 12) + (inflatedBytes >> 14) + (inflatedBytes >> 25) + 13 + 6
            + headerBytes + trailerBytes
    }

    /// The deflate level, ISA-L's or zlib's: 1, the fastest but ISA-L's 0. Either makes
    /// the records of a generated export about 5.5× smaller; ISA-L does it about 2.7×
    /// as fast (`docs/performance.md`, "Compressed spools").
    package static let level: Int32 = 1

    private static func littleEndian32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    fileprivate static func storeLittleEndian32(_ value: UInt32, _ base: UnsafeMutablePointer<UInt8>) {
        for i in 0..<4 { base[i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }
}

/// Deflates records into ``SpoolMember``s: with ISA-L's igzip where it can be loaded
/// (as ``InflateBackend/auto`` inflates), else with one zlib stream, reset for each member.
///
/// The compressor (ISA-L's, or the `z_stream`) lives at a stable heap address owned by
/// this object, set up in `init` and freed in `deinit`; the libraries see the caller's
/// buffers only during ``compress(_:into:)``. Not thread-safe: each compressing thread
/// owns one. An encoder of each library makes the same member of the same records from
/// any thread (see `docs/performance.md`, "Compressed spools", for one exception seen).
package final class SpoolMemberEncoder {
    private let isal: OpaquePointer?
    private let stream: UnsafeMutablePointer<z_stream>

    /// An encoder that uses ISA-L when `preferringISAL` and ISA-L can be loaded.
    package init(preferringISAL: Bool = true) {
        isal = preferringISAL ? nudge_isal_deflater_create() : nil
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // -15: raw deflate with a 32 KiB window (the gzip wrapper is written here).
        let status = nudge_deflateInit2(stream, SpoolMember.level, -15, 8, Z_DEFAULT_STRATEGY)
        precondition(status == Z_OK, "deflateInit2 failed: \(status) (out of memory)")
    }

    deinit {
        nudge_isal_deflater_free(isal)
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Which library compresses: `"isal"` or `"zlib"`.
    package var library: String { isal == nil ? "zlib" : "isal" }

    /// Appends `records` to `output` as members cut by the spool's rule (each ends at
    /// the first record end at or past ``SpoolMember/defaultInflatedBytes`` from its
    /// start; the last holds the rest). No records, no member.
    package func compressMembers(_ records: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        var rest = records
        while !rest.isEmpty {
            let end = SpoolMember.end(of: rest, inflatedBytes: SpoolMember.defaultInflatedBytes) ?? rest.count
            let piece = UnsafeRawBufferPointer(rebasing: rest[..<end])
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: SpoolMember.bound(inflatedBytes: end)))
            let length = output.withUnsafeMutableBufferPointer { compress(piece, into: $0.baseAddress! + start) }
            output.removeLast(output.count - start - length)
            rest = UnsafeRawBufferPointer(rebasing: rest[end...])
        }
    }

    /// Writes `records` as one member at `output`, which has room for
    /// ``SpoolMember/bound(inflatedBytes:)`` bytes; returns the member's length.
    package func compress(_ records: UnsafeRawBufferPointer, into output: UnsafeMutablePointer<UInt8>) -> Int {
        precondition(records.count <= Int(UInt32.max / 2), "a spool member holds at most 2 GiB")
        let capacity = SpoolMember.bound(inflatedBytes: records.count)
        let deflateStart = SpoolMember.headerBytes
        let room = capacity - deflateStart - SpoolMember.trailerBytes
        var deflated = 0
        var crc: UInt32 = 0
        if let isal, let base = records.baseAddress {
            // ISA-L writes the trailer too, with the CRC-32 it computed while reading.
            deflated = Int(nudge_isal_deflate(isal, base.assumingMemoryBound(to: UInt8.self), UInt32(records.count),
                                              output + deflateStart, UInt32(room + SpoolMember.trailerBytes), &crc))
        }
        if deflated == 0 {
            // zlib: no ISA-L, no records, or (never seen) ISA-L needing more than zlib's bound.
            deflateReset(stream)
            stream.pointee.next_in = UnsafeMutablePointer(mutating: records.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = UInt32(records.count)
            stream.pointee.next_out = output + deflateStart
            stream.pointee.avail_out = UInt32(room)
            let status = deflate(stream, Z_FINISH)
            precondition(status == Z_STREAM_END, "deflate did not finish within its bound: \(status)")
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
            deflated = Int(stream.pointee.total_out)
            crc = UInt32(truncatingIfNeeded: CRC32.checksum(records))
        }
        let length = deflateStart + deflated + SpoolMember.trailerBytes
        let header: [UInt8] = [0x1F, 0x8B, 8, 4, 0, 0, 0, 0, 0, 255, 12, 0, UInt8(ascii: "N"), UInt8(ascii: "I"), 8, 0]
        output.update(from: header, count: header.count)
        SpoolMember.storeLittleEndian32(UInt32(length), output + 16)
        SpoolMember.storeLittleEndian32(UInt32(records.count), output + 20)
        let trailer = output + deflateStart + deflated
        SpoolMember.storeLittleEndian32(crc, trailer)
        SpoolMember.storeLittleEndian32(UInt32(truncatingIfNeeded: records.count), trailer + 4)
        return length
    }
}
