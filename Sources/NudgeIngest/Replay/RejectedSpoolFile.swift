import NudgeSpool
import NudgeSystem

/// The rejected spool's file in a folder (`SPOOL/rejected/`, or a destination's kept
/// folder): `rejected.ndjson.gz`, gzip members of whole `rejected-record` lines, the
/// spool's own member format (one member a write, a rewrite cut by the spool's rule);
/// or, where a replay wrote it before rejected records were compressed,
/// `rejected.ndjson`, plain, which stays plain for good.
///
/// A checkpoint's `rejected_bytes` counts the records' bytes (as `zcat` gives them, as
/// the record files' offsets do), the same in either form. Every write is whole members
/// synced before the checkpoint that counts it, so in the compressed form the count
/// always ends a member: a replay finds that member's end from the members' headers
/// and cuts the file there.
struct RejectedSpoolFile: Sendable {
    static let compressedName = "rejected.ndjson.gz"
    static let plainName = "rejected.ndjson"

    let folder: String
    let isCompressed: Bool

    /// The rejected spool file in `folder`: the plain one when it is there, the
    /// compressed one otherwise (there, or to be made).
    init(folder: String) {
        self.folder = folder
        isCompressed = Files.size(of: folder + "/" + Self.plainName) == nil
    }

    var name: String { isCompressed ? Self.compressedName : Self.plainName }
    var path: String { folder + "/" + name }
    /// Whether the file exists.
    var exists: Bool { Files.size(of: path) != nil }

    /// What to write for `lines`: the lines themselves, or gzip members of them made by
    /// `encoder` (the writer keeps one: making one allocates the compressor's state).
    func encoded(_ lines: [UInt8], by encoder: SpoolMemberEncoder) -> [UInt8] {
        guard isCompressed else { return lines }
        var members: [UInt8] = []
        lines.withUnsafeBytes { encoder.compressMembers($0, appendingTo: &members) }
        return members
    }

    /// The first `recordBytes` bytes of records of the file at `path` (this form: `path`
    /// is this file or a rewrite of it), inflated when compressed.
    func lines(at path: String, recordBytes: Int) throws(SpoolError) -> [UInt8] {
        guard isCompressed else {
            let bytes = try Files.read(path)
            guard bytes.count >= recordBytes else { throw .damaged(path: path, problem: shorter(bytes.count, recordBytes)) }
            return Array(bytes.prefix(recordBytes))
        }
        var lines: [UInt8] = []
        try withMembers(at: path, through: recordBytes) { (reader, members) throws(SpoolReadError) in
            for member in members { try reader.inflate(member.header, at: member.offset, appendingTo: &lines) }
        }
        return lines
    }

    /// The length of the file at `path` that holds its first `recordBytes` bytes of
    /// records: where a replay cuts it back to what its checkpoint vouches for.
    func fileBytes(at path: String, recordBytes: Int) throws(SpoolError) -> Int {
        guard isCompressed else {
            let size = Files.size(of: path) ?? 0
            guard size >= recordBytes else { throw .damaged(path: path, problem: shorter(size, recordBytes)) }
            return recordBytes
        }
        var end = 0
        try withMembers(at: path, through: recordBytes) { (_, members) throws(SpoolReadError) in
            end = members.last.map { $0.offset + $0.header.memberBytes } ?? 0
        }
        return end
    }

    /// The members of the file at `path` whose records are its first `recordBytes`
    /// bytes of records, read from their headers alone (what follows them, a write a
    /// kill cut short among it, is not read).
    private func withMembers(
        at path: String, through recordBytes: Int,
        _ body: (inout SpoolMemberReader, [(offset: Int, header: SpoolMember.Header)]) throws(SpoolReadError) -> Void
    ) throws(SpoolError) {
        let size = Files.size(of: path) ?? 0
        guard recordBytes > 0 else { return }
        let file = try Files.open(path, for: .reading)
        defer { file.close() }
        var reader = SpoolMemberReader(path: path, descriptor: file, fileBytes: size)
        do throws(SpoolReadError) {
            var members: [(offset: Int, header: SpoolMember.Header)] = []
            var (offset, inflated) = (0, 0)
            while inflated < recordBytes {
                guard offset < size else { throw .damaged(path: path, problem: shorter(inflated, recordBytes)) }
                let header = try reader.header(at: offset)
                members.append((offset, header))
                (offset, inflated) = (offset + header.memberBytes, inflated + header.inflatedBytes)
            }
            guard inflated == recordBytes else {
                throw .damaged(path: path, problem: "no member ends where the \(recordBytes) bytes of records the "
                                 + "checkpoint vouches for do")
            }
            try body(&reader, members)
        } catch {
            throw error.spoolError
        }
    }

    private func shorter(_ have: Int, _ vouched: Int) -> String {
        "it holds \(have) bytes of records, fewer than the \(vouched) the checkpoint vouches for"
    }
}
