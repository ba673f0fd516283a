import NudgeCore
import NudgeSpool
import NudgeSystem

extension AuditPage {
    /// The page of `limit` records matching `filter`, newest first: the committed dropped
    /// files read backwards from their ends (or from before `cursor`), so the first page
    /// of a large spool costs what its last records cost. `cursor` is one a descending
    /// page gave (`d1.…`), as ``Cursor`` writes it for both orders.
    package static func makeDescending(
        spool: String, filter: AuditFilter, limit: Int = defaultLimit, cursor: String? = nil
    ) throws(AuditError) -> AuditPage {
        let ledger: Ledger
        do { ledger = try Ledger.committed(inSpool: spool) } catch { throw .spool(error) }
        var lines = ReverseSpoolLines(folder: spool + "/dropped", files: ledger.droppedFiles)
        defer { lines.close() }
        // Records of the cursor's commit at or after this source line are passed over (a
        // file a redrive rewrote since: its offsets moved, its lines did not).
        var skipFrom: (commit: Int, line: Int)?
        if let cursor {
            let position = try Cursor(cursor, filter: filter, descending: true)
            skipFrom = try lines.moveBefore(position)
        }
        var page = AuditPage()
        var last: Cursor?
        var folderDay: (commit: Int, day: Int64?) = (0, nil)
        var full = false
        while !full, let (line, commit, offset) = try lines.previous() {
            try line.withUnsafeBytes { bytes in
                Result { () throws(AuditError) in
                    if filter.rejectsByReason(bytes) { return }
                    let record: DroppedRecord
                    do throws(JSONMembers.Malformed) { record = try DroppedRecord.parse(bytes) } catch {
                        throw .reading(.malformed(path: lines.path(of: lines.current), line: 0, problem: error.problem))
                    }
                    if let skip = skipFrom, skip.commit == commit, record.line >= skip.line { return }
                    if folderDay.commit != commit {
                        let file = JSONMembers.decodedString(bytes, record.file).map { String(decoding: $0, as: UTF8.self) }
                        folderDay = (commit, file.flatMap(ScannedDrop.receivedDay(inPath:)))
                    }
                    let drop = ScannedDrop(bytes: bytes, record: record, commit: commit, lineOffset: offset,
                                           folderDay: folderDay.day)
                    guard filter.matches(drop) else { return }
                    // One more match past a full page: there is a next page, from the last kept.
                    guard page.records.count < limit else {
                        page.nextCursor = last?.text
                        full = true
                        return
                    }
                    page.records.append(Array(bytes))
                    page.ids.append(DropID(commit: commit, line: record.line))
                    last = Cursor(commit: commit, version: lines.current.replacedBy ?? commit, offset: offset,
                                  sourceLine: record.line, filter: filter.digest, descending: true)
                }
            }.get()
        }
        return page
    }
}

/// The lines of committed spool files, last file first and each file from its end,
/// read in chunks of 256 KiB (a member at a time from a compressed file, stepping over
/// the members' headers first), each file only up to the size the ledger gives it.
/// Offsets count the records' bytes, as ``SpoolLineReader``'s do.
struct ReverseSpoolLines {
    let folder: String
    let files: [CommittedFile]
    /// The file being read (`files.count`: none yet), its descriptor and the bytes of it
    /// held: `buffer` is the file's bytes from `bufferStart` to `end`, where `end` is
    /// the end of the next line to hand out (its newline excluded).
    private var fileIndex: Int
    private var file: FileDescriptor?
    /// The members of the file being read, when it is compressed.
    private var members: (reader: SpoolMemberReader, list: [SpoolMemberReader.Member])?
    private var buffer: [UInt8] = []
    private var bufferStart = 0
    private var end = 0
    static let chunk = 256 << 10

    init(folder: String, files: [CommittedFile]) {
        self.folder = folder
        self.files = files
        fileIndex = files.count
    }

    func path(of file: CommittedFile) -> String { folder + "/" + file.name }

    /// The file of the line ``previous()`` handed out last.
    var current: CommittedFile { files[fileIndex] }

    /// Moves to just before `cursor`'s record. When its file was rewritten since, the
    /// file is read from its end and its records at or after the cursor's source line
    /// are to be passed over (returned for the caller).
    mutating func moveBefore(_ cursor: AuditPage.Cursor) throws(AuditError) -> (commit: Int, line: Int)? {
        guard let index = files.lastIndex(where: { $0.commit <= cursor.commit }) else {
            fileIndex = -1
            return nil
        }
        let target = files[index]
        if target.commit == cursor.commit && (target.replacedBy ?? target.commit) == cursor.version {
            try open(index, endingAt: cursor.offset)
            return nil
        }
        try open(index, endingAt: nil)
        return target.commit == cursor.commit ? (cursor.commit, cursor.sourceLine) : nil
    }

    /// Lets the file being read go.
    mutating func close() {
        file?.close()
        file = nil
        members = nil
    }

    private mutating func open(_ index: Int, endingAt offset: Int?) throws(AuditError) {
        close()
        fileIndex = index
        buffer = []
        guard index >= 0 else { return }
        var size = files[index].bytes
        if files[index].compressed {
            let path = path(of: files[index])
            do { file = try .open(path, for: .reading) } catch {
                throw .spool(.cannotRead(path: path, error: error))
            }
            let reader = SpoolMemberReader(path: path, descriptor: file!, fileBytes: size)
            do {
                let list = try reader.members()
                members = (reader, list)
                size = list.last.map { $0.inflatedOffset + $0.header.inflatedBytes } ?? 0
            } catch {
                throw .reading(error)
            }
        }
        // The last byte of a file is its last line's newline.
        end = min(offset.map { $0 - 1 } ?? size - 1, size)
        bufferStart = max(end, 0)
    }

    /// The line before the current position, its commit and its byte offset; nil once
    /// the first file's start is passed.
    mutating func previous() throws(AuditError) -> (ArraySlice<UInt8>, commit: Int, offset: Int)? {
        while true {
            if fileIndex == files.count { try open(files.count - 1, endingAt: nil) }
            guard fileIndex >= 0 else { return nil }
            guard end > 0 else {
                try open(fileIndex - 1, endingAt: nil)
                continue
            }
            // The held bytes must reach back past the line's start (a newline, or the file's).
            while true {
                let local = buffer[..<(end - bufferStart)]
                if let newline = local.lastIndex(of: 0x0A) {
                    let start = newline + 1
                    let line = buffer[start..<(end - bufferStart)]
                    let offset = bufferStart + start
                    end = offset - 1
                    return (line, files[fileIndex].commit, offset)
                }
                if bufferStart == 0 {
                    let line = buffer[0..<end]
                    end = 0
                    return (line, files[fileIndex].commit, 0)
                }
                try readEarlier()
            }
        }
    }

    /// Puts the chunk before `bufferStart` in front of the held bytes.
    private mutating func readEarlier() throws(AuditError) {
        if let (reader, list) = members {
            // The member that holds the byte before `bufferStart`, whole, less what of it is past that.
            guard let member = list.last(where: { $0.inflatedOffset < bufferStart }) else { return }
            var earlier: [UInt8] = []
            var inflating = reader
            do { try inflating.inflate(member.header, at: member.offset, appendingTo: &earlier) } catch {
                throw .reading(error)
            }
            members = (inflating, list)
            earlier.removeLast(member.inflatedOffset + member.header.inflatedBytes - bufferStart)
            buffer = earlier + buffer[..<(end - bufferStart)]
            bufferStart = member.inflatedOffset
            return
        }
        let path = path(of: files[fileIndex])
        if file == nil {
            do { file = try .open(path, for: .reading) } catch {
                throw .spool(.cannotRead(path: path, error: error))
            }
        }
        let start = max(0, bufferStart - Self.chunk)
        var earlier = [UInt8](repeating: 0, count: bufferStart - start)
        var filled = 0
        while filled < earlier.count {
            let n: Int
            do { n = try file!.read(into: &earlier, filled..<earlier.count, at: start + filled) } catch {
                throw .spool(.cannotRead(path: path, error: error))
            }
            guard n > 0 else { throw .spool(.cannotRead(path: path, error: .inputOutput)) }
            filled += n
        }
        buffer = earlier + buffer[..<(end - bufferStart)]
        bufferStart = start
    }
}
