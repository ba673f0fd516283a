import NudgeCore
import NudgeSystem

/// The members of one compressed spool file, inflated ahead on a thread of its own
/// while ``SpoolLineReader`` hands out the lines of the ones before, so that reading a
/// compressed spool costs about what reading a plain one does wherever a core is free.
///
/// The thread reads through its own duplicate of the file's descriptor, so the reader
/// may close its own at any time. At most two inflated members wait; dropping the
/// read-ahead closes its queue, and the thread ends at its next member.
final class SpoolMemberReadAhead: Sendable {
    /// One member's records and its length in the file.
    struct Member: Sendable {
        var records: [UInt8]
        var memberBytes: Int
    }

    private let queue = BoundedQueue<Member, SpoolReadError>(capacity: 2)
    /// Buffers of members the reader is done with, for the thread to inflate into again
    /// (fresh mebibytes would cost a page fault every 4 KiB).
    private let spare = ConditionLock<[[UInt8]]>([])

    /// Inflates the members of `reader`'s file from byte `offset` to its committed end.
    init(_ reader: SpoolMemberReader, from offset: Int) throws(SpoolReadError) {
        let descriptor: FileDescriptor
        do { descriptor = try reader.descriptor.duplicate() } catch { throw .unreadable(path: reader.path, error: error) }
        let (queue, spare, path, fileBytes) = (self.queue, self.spare, reader.path, reader.fileBytes)
        startThread(named: "spool-inflate") {
            defer { descriptor.close() }
            var members = SpoolMemberReader(path: path, descriptor: descriptor, fileBytes: fileBytes)
            var offset = offset
            do throws(SpoolReadError) {
                while offset < fileBytes {
                    let header = try members.header(at: offset)
                    var records = spare.withLock { $0.popLast() } ?? []
                    records.removeAll(keepingCapacity: true)
                    try members.inflate(header, at: offset, appendingTo: &records)
                    do { try queue.push(Member(records: records, memberBytes: header.memberBytes)) } catch { return }
                    offset += header.memberBytes
                }
                queue.finish()
            } catch {
                queue.finish(throwing: error)
            }
        }
    }

    deinit {
        queue.close()
    }

    /// The next member, waiting for it to be inflated; nil after the last.
    func next() throws(SpoolReadError) -> Member? {
        try queue.pop()
    }

    /// Gives back the buffer of a member the reader is done with.
    func recycle(_ records: consuming [UInt8]) {
        let records = records
        spare.withLock { if $0.count < 2 { $0.append(records) } }
    }
}
