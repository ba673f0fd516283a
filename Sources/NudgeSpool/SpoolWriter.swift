import NudgeCore
import NudgeSystem

/// Writes one commit's records into `SPOOL/accepted/` and `SPOOL/dropped/`.
///
/// Records are buffered (bounded by `flushThreshold`) and written, by a
/// ``BackgroundWriter``, to hidden `.NNNNNNNN.ndjson.partial` files (`0600`: the spool
/// holds personal data). ``sync()`` makes them durable and ``publish()`` renames them
/// to `NNNNNNNN.ndjson`; ``Spool/commit(_:writer:state:)`` orders those steps with the
/// journal and the ledger.
package final class SpoolWriter {
    package let directory: String
    /// Buffered bytes are written out once a buffer holds this many.
    package let flushThreshold: Int

    package var accepted: OutputBuffer
    package var dropped: OutputBuffer
    private var acceptedFile: AsideFile?
    private var droppedFile: AsideFile?
    private let writer = BackgroundWriter()

    package init(directory: String, flushThreshold: Int = 1 << 20) {
        self.directory = directory
        self.flushThreshold = flushThreshold
        accepted = OutputBuffer(capacity: flushThreshold + 64 * 1024)
        dropped = OutputBuffer(capacity: flushThreshold + 64 * 1024)
    }

    deinit {
        writer.stop()
        discard()
    }

    /// Opens the partial files of commit `commit`.
    package func begin(commit: Int) throws(SpoolError) {
        let name = LedgerEntry.spoolFileName(commit)
        acceptedFile = try AsideFile(replacing: directory + "/accepted/" + name)
        droppedFile = try AsideFile(replacing: directory + "/dropped/" + name)
    }

    /// Writes out whichever buffer has reached the threshold.
    @inline(__always)
    package func flushIfNeeded() throws(SpoolError) {
        do {
            if accepted.count >= flushThreshold { try submit(&accepted, to: &acceptedFile!) }
            if dropped.count >= flushThreshold { try submit(&dropped, to: &droppedFile!) }
        } catch {
            throw writeError(error)
        }
    }

    private func submit(_ buffer: inout OutputBuffer, to file: inout AsideFile) throws(BackgroundWriter.Failure) {
        file.bytesWritten += buffer.count
        try writer.submit(&buffer, to: file.descriptor!)
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
