import NudgeCore
import NudgeSpool

/// Reads the committed dropped spool in order and hands each record to a callback.
package struct DroppedSpoolScan {
    package let ledger: Ledger
    var lines: SpoolLineReader
    private var folderDays: (commit: Int, day: Int64?) = (0, nil)

    /// Reads what the ledger of `spool` has committed when this is created.
    package init(spool: String) throws(SpoolError) {
        self.init(spool: spool, ledger: try Ledger.committed(inSpool: spool))
    }

    /// Reads the dropped files `ledger` vouches for.
    init(spool: String, ledger: Ledger, files: [CommittedFile]? = nil) {
        self.ledger = ledger
        lines = SpoolLineReader(folder: spool + "/dropped", files: files ?? ledger.droppedFiles)
    }

    /// Calls `body` with each record from the reader's position on, until it returns false.
    /// Lines `skipping` is given and returns true for are passed over unread (a filter
    /// that can tell from a line's first bytes that it does not match).
    package mutating func forEach(
        skipping: ((UnsafeRawBufferPointer) -> Bool)? = nil, _ body: (ScannedDrop) throws(AuditError) -> Bool
    ) throws(AuditError) {
        while true {
            let next: ArraySlice<UInt8>?
            do { next = try lines.nextLine() } catch { throw .reading(error) }
            guard let line = next else { return }
            if let skipping, line.withUnsafeBytes(skipping) { continue }
            let (commit, offset) = (lines.commit, lines.lineOffset)
            // The line is read in place, in the reader's buffer.
            let keepGoing = try line.withUnsafeBytes { bytes in
                Result { () throws(AuditError) -> Bool in
                    let record: DroppedRecord
                    do throws(JSONMembers.Malformed) { record = try DroppedRecord.parse(bytes) } catch {
                        throw .reading(.malformed(path: lines.path(of: lines.fileIndex), line: lines.lineNumber,
                                                  problem: error.problem))
                    }
                    if folderDays.commit != commit {
                        let file = JSONMembers.decodedString(bytes, record.file).map { String(decoding: $0, as: UTF8.self) }
                        folderDays = (commit, file.flatMap(ScannedDrop.receivedDay(inPath:)))
                    }
                    return try body(ScannedDrop(bytes: bytes, record: record, commit: commit, lineOffset: offset,
                                                folderDay: folderDays.day))
                }
            }.get()
            if !keepGoing { return }
        }
    }
}
