import NudgeCore
import NudgeSystem

/// Writes one commit's records into `SPOOL/accepted/` and `SPOOL/dropped/`.
///
/// Records are buffered and written, by a ``BackgroundWriter``, to hidden
/// `.NNNNNNNN.ndjson.gz.partial` files (`0600`: the spool holds personal data).
/// ``sync()`` makes them durable and ``publish()`` renames them to `NNNNNNNN.ndjson.gz`;
/// ``Spool/commit(_:writer:state:)`` orders those steps with the journal and the ledger.
///
/// A compressed file is a series of ``SpoolMember``s, each cut at the first record end
/// at or past `memberBytes` from its start (the last one at the commit's end), so where
/// members end depends on the records alone, never on when buffers were handed over:
/// the same records give the same members. The background writer's threads compress the
/// members. Uncompressed (`compressed: false`), buffers are written out as they reach
/// `flushThreshold`, to `NNNNNNNN.ndjson`: the spools before compression, which tests
/// still write to check that they are read.
package final class SpoolWriter {
    package let directory: String
    /// Uncompressed, buffered bytes are written out once a buffer holds this many.
    package let flushThreshold: Int
    /// Whether the files are compressed (`.ndjson.gz`).
    package let compressed: Bool
    /// The least inflated length of a compressed file's member but its last.
    package let memberBytes: Int

    package var accepted: OutputBuffer
    package var dropped: OutputBuffer
    private var acceptedFile: AsideFile?
    private var droppedFile: AsideFile?
    private let writer: BackgroundWriter

    /// A writer whose background writer compresses on `compressors` threads.
    package init(
        directory: String, flushThreshold: Int = 1 << 20, compressed: Bool = true,
        memberBytes: Int = SpoolMember.defaultInflatedBytes,
        compressors: Int = 1
    ) {
        self.directory = directory
        self.flushThreshold = flushThreshold
        self.compressed = compressed
        self.memberBytes = max(memberBytes, 1)
        // A member for every compressing thread to work on while one is written.
        writer = BackgroundWriter(maxPending: max(compressors, 1) + 1, compressors: compressors)
        let capacity = (compressed ? self.memberBytes : flushThreshold) + 64 * 1024
        accepted = OutputBuffer(capacity: capacity)
        dropped = OutputBuffer(capacity: capacity)
    }

    deinit {
        writer.stop()
        discard()
    }

    /// Opens the partial files of commit `commit`.
    package func begin(commit: Int) throws(SpoolError) {
        let name = LedgerEntry.spoolFileName(commit, compressed: compressed)
        acceptedFile = try AsideFile(replacing: directory + "/accepted/" + name)
        droppedFile = try AsideFile(replacing: directory + "/dropped/" + name)
    }

    /// Writes out every whole member (or, uncompressed, a buffer that reached the
    /// threshold) the buffers hold.
    @inline(__always)
    package func flushIfNeeded() throws(SpoolError) {
        let limit = compressed ? memberBytes : flushThreshold
        guard accepted.count >= limit || dropped.count >= limit else { return }
        do {
            try submitWhole(&accepted, to: &acceptedFile!)
            try submitWhole(&dropped, to: &droppedFile!)
        } catch {
            throw writeError(error)
        }
    }

    private func submitWhole(_ buffer: inout OutputBuffer, to file: inout AsideFile) throws(BackgroundWriter.Failure) {
        guard compressed else {
            if buffer.count >= flushThreshold { try submit(&buffer, to: &file) }
            return
        }
        while let end = buffer.withBytes({ SpoolMember.end(of: $0, inflatedBytes: memberBytes) }) {
            try submit(&buffer, prefix: end, to: &file)
        }
    }

    /// Hands the first `prefix` bytes (all when nil) to the background writer: one
    /// member when compressed.
    private func submit(
        _ buffer: inout OutputBuffer, prefix: Int? = nil, to file: inout AsideFile
    ) throws(BackgroundWriter.Failure) {
        if !compressed { file.bytesWritten += prefix ?? buffer.count }
        try writer.submit(&buffer, prefix: prefix, to: file.descriptor!, compressed: compressed)
    }

    /// The error for a failed write (called once no access to either file is under way).
    private func writeError(_ failure: BackgroundWriter.Failure) -> SpoolError {
        let file = failure.descriptor == acceptedFile?.descriptor ? acceptedFile : droppedFile
        return .cannotWrite(path: file?.asidePath ?? directory, error: failure.error)
    }

    /// Writes everything buffered and syncs both files; returns their sizes.
    func sync() throws(SpoolError) -> (accepted: Int, dropped: Int) {
        do {
            try submit(&accepted, to: &acceptedFile!)
            try submit(&dropped, to: &droppedFile!)
            try writer.drain()
        } catch {
            throw writeError(error)
        }
        if compressed {
            // The members' lengths are known once they are written.
            try acceptedFile!.measureWritten()
            try droppedFile!.measureWritten()
        }
        try acceptedFile!.sync()
        try droppedFile!.sync()
        return (acceptedFile!.bytesWritten, droppedFile!.bytesWritten)
    }

    /// Renames the synced files to their final names (an empty one is removed instead).
    /// The caller syncs the folders.
    func publish() throws(SpoolError) {
        try acceptedFile!.putInPlace()
        try droppedFile!.putInPlace()
        acceptedFile = nil
        droppedFile = nil
    }

    /// Removes the partial files of a commit that did not happen.
    package func discard() {
        acceptedFile?.discard()
        droppedFile?.discard()
        acceptedFile = nil
        droppedFile = nil
        accepted.removeAll()
        dropped.removeAll()
    }
}
