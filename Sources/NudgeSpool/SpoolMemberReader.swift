import NudgeCore
import NudgeSystem

/// Reads the ``SpoolMember``s of one compressed spool file, up to the size its commit
/// gives it: a member's header alone (to step over it) or its records, inflated and
/// checked (CRC-32 and length).
///
/// The readers of the spool (``SpoolLineReader`` forwards, `audit`'s descending pages
/// backwards) go through it, so a damaged member is reported the same way everywhere.
package struct SpoolMemberReader {
    /// Where a member starts, in the file and in the inflated records.
    package struct Member: Sendable, Equatable {
        package var offset: Int
        package var inflatedOffset: Int
        package var header: SpoolMember.Header
    }

    package let path: String
    let descriptor: FileDescriptor
    /// The committed size: no member may reach past it.
    package let fileBytes: Int
    private let inflater: any GzipStreamInflater
    private var compressed: [UInt8] = []

    /// Reads `descriptor` (the file at `path`), `fileBytes` long.
    package init(path: String, descriptor: FileDescriptor, fileBytes: Int) {
        self.path = path
        self.descriptor = descriptor
        self.fileBytes = fileBytes
        // ISA-L where it is installed; each member is fed whole, so one stream serves
        // members read in any order.
        inflater = (try? InflateBackend.auto.makeInflater(outputCapacity: 256 << 10))
            ?? (try! InflateBackend.zlib.makeInflater(outputCapacity: 256 << 10))
    }

    /// The header of the member at `offset`.
    package func header(at offset: Int) throws(SpoolReadError) -> SpoolMember.Header {
        var bytes = [UInt8](repeating: 0, count: SpoolMember.headerBytes)
        try read(into: &bytes, at: offset)
        guard let header = bytes.withUnsafeBytes({ SpoolMember.header($0) }) else {
            throw .damaged(path: path, problem: "no spool member starts at byte \(offset)")
        }
        guard offset + header.memberBytes <= fileBytes else {
            throw .damaged(path: path, problem: "the member at byte \(offset) runs past the file's "
                             + "committed size, \(fileBytes) bytes")
        }
        return header
    }

    /// Every member of the file, in order, read from their headers alone.
    package func members() throws(SpoolReadError) -> [Member] {
        var members: [Member] = []
        var (offset, inflated) = (0, 0)
        while offset < fileBytes {
            let header = try header(at: offset)
            members.append(Member(offset: offset, inflatedOffset: inflated, header: header))
            offset += header.memberBytes
            inflated += header.inflatedBytes
        }
        return members
    }

    /// Appends the records of the member at `offset`, whose header is `header`, to `records`.
    package mutating func inflate(
        _ header: SpoolMember.Header, at offset: Int, appendingTo records: inout [UInt8]
    ) throws(SpoolReadError) {
        if compressed.count < header.memberBytes { compressed = [UInt8](repeating: 0, count: header.memberBytes) }
        try read(into: &compressed, count: header.memberBytes, at: offset)
        // Room for the records the header gives, filled in place as they are inflated.
        let start = records.count
        records.append(contentsOf: repeatElement(0, count: header.inflatedBytes))
        var filled = 0
        let inflater = self.inflater
        do {
            try compressed.withUnsafeBytes { bytes in
                try records.withUnsafeMutableBytes { room in
                    try inflater.inflate(UnsafeRawBufferPointer(rebasing: bytes[..<header.memberBytes])) { inflated in
                        guard filled + inflated.count <= header.inflatedBytes else {
                            throw GzipFault.corrupt("more records than its header gives")
                        }
                        UnsafeMutableRawBufferPointer(rebasing: room[(start + filled)...]).copyMemory(from: inflated)
                        filled += inflated.count
                    }
                }
            }
        } catch let fault as GzipFault {
            records.removeLast(header.inflatedBytes)
            throw .damaged(path: path, problem: "the member at byte \(offset) is damaged: \(fault.message)")
        } catch {
            preconditionFailure("only the inflater throws here")
        }
        guard filled == header.inflatedBytes else {
            records.removeLast(header.inflatedBytes)
            throw .damaged(path: path, problem: "the member at byte \(offset) holds \(filled) "
                             + "bytes of records, but its header gives \(header.inflatedBytes)")
        }
    }

    private func read(into bytes: inout [UInt8], count: Int? = nil, at offset: Int) throws(SpoolReadError) {
        let count = count ?? bytes.count
        let n: Int
        do { n = try descriptor.readFully(into: &bytes, 0..<count, at: offset) } catch {
            throw .unreadable(path: path, error: error)
        }
        guard n == count else {
            throw .damaged(path: path, problem: "the file ends at byte \(offset + n), inside a member")
        }
    }
}
