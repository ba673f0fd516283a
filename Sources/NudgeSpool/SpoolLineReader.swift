import NudgeCore
import NudgeSystem

/// Why a committed spool file could not be read.
public enum SpoolReadError: Error, Sendable, CustomStringConvertible {
    case unreadable(path: String, error: SystemError)
    case malformed(path: String, line: Int, problem: String)
    /// The file is not the size its commit gave it: a redrive rewrote it since the
    /// ledger was read, or the spool is damaged.
    case changed(path: String, expected: Int, found: Int)
    /// A compressed file's member is not whole or not intact.
    case damaged(path: String, problem: String)

    /// What went wrong, for a person.
    public var description: String {
        switch self {
        case .unreadable(let path, let error): "cannot read \(path): \(error)"
        case .malformed(let path, let line, let problem): "\(path):\(line): not a spool record: \(problem)"
        case .changed(let path, let expected, let found):
            "\(path) is \(found) bytes, but the ledger gives it \(expected): it changed while being read "
                + "(a redrive?), or the spool is damaged; run the command again"
        case .damaged(let path, let problem): "\(path) is damaged: \(problem)"
        }
    }
}

extension SpoolReadError {
    /// The same failure, as a writer of the spool (a redrive rewriting a file) reports it.
    package var spoolError: SpoolError {
        switch self {
        case .unreadable(let path, let error): .cannotRead(path: path, error: error)
        case .malformed(let path, _, _), .changed(let path, _, _), .damaged(let path, _):
            .damaged(path: path, problem: description)
        }
    }
}

/// Reads the lines of committed spool files in commit order, 1 MiB at a time however
/// large a file is (a member at a time in a compressed file), each file only up to the
/// size its commit gives it. Offsets and line numbers count the records' bytes, as
/// `zcat` gives them, in compressed files too.
///
/// Readers do not take the spool's lock, so a run or a redrive may be committing
/// meanwhile. What they read stays whole: a run only adds files past the ledger the
/// reader loaded; a redrive renames a new version over a dropped file, and between its
/// commit point and that rename the new version is still under its hidden name, which
/// this reader then opens instead (every file is checked against its committed size).
package struct SpoolLineReader {
    let folder: String
    package let files: [CommittedFile]
    /// Index in `files` of the file being read (-1 before the first).
    package private(set) var fileIndex = -1
    private var descriptor: FileDescriptor?
    /// The current file's members, when it is compressed, and those being inflated ahead.
    private var members: SpoolMemberReader?
    private var readAhead: SpoolMemberReadAhead?
    /// Bytes of the current file's records read so far, and the unread part of them.
    private var offset = 0
    /// Where in the current file the next read starts (`offset`, uncompressed).
    private var fileOffset = 0
    private var pending: [UInt8] = []
    private var pendingStart = 0
    /// The 1-based number, within its file, of the last line handed out.
    package private(set) var lineNumber = 0
    /// The byte offset, within its file, of the start of the last line handed out.
    package private(set) var lineOffset = 0
    /// Bytes read at a time.
    package var chunkBytes = 1 << 20
    /// Told of every chunk read, when set (a progress line of a whole-spool read).
    package var progress: ScanProgress?

    /// Reads `files` of `folder` (`SPOOL/accepted` or `SPOOL/dropped`).
    package init(folder: String, files: [CommittedFile]) {
        self.folder = folder
        self.files = files
    }

    /// The commit of the file being read.
    package var commit: Int { files[fileIndex].commit }

    package func path(of index: Int) -> String { folder + "/" + files[index].name }

    /// The next line (without its `\n`), or nil after the last committed one.
    package mutating func nextLine() throws(SpoolReadError) -> ArraySlice<UInt8>? {
        while true {
            if pendingStart < pending.count, let newline = pending.withUnsafeBytes({ bytes in
                LineFramer.firstNewline(in: bytes.baseAddress!, from: pendingStart, to: bytes.count)
            }) {
                defer { pendingStart = newline + 1 }
                lineNumber += 1
                lineOffset = offset - pending.count + pendingStart
                return pending[pendingStart..<newline]
            }
            if fileIndex >= 0 && fileOffset < files[fileIndex].bytes {
                try readChunk()
                continue
            }
            if fileIndex >= 0 && pendingStart < pending.count {
                throw .malformed(path: path(of: fileIndex), line: lineNumber + 1, problem: "the last line has no end")
            }
            guard fileIndex + 1 < files.count else {
                closeFile()
                return nil
            }
            try open(fileIndex + 1)
        }
    }

    /// Goes on from byte `offset` of file `index`'s records, whose line there is numbered `line`.
    package mutating func seek(file index: Int, offset start: Int, line: Int) throws(SpoolReadError) {
        guard index < files.count else {
            closeFile()
            fileIndex = files.count - 1
            (offset, fileOffset, pending, pendingStart) = (0, files.last?.bytes ?? 0, [], 0)
            return
        }
        try open(index)
        lineNumber = line - 1
        guard let reader = members else {
            offset = min(start, files[index].bytes)
            fileOffset = offset
            return
        }
        // Step over whole members to the one holding `start`, and into it.
        while fileOffset < files[index].bytes {
            let header = try reader.header(at: fileOffset)
            if offset + header.inflatedBytes > start { break }
            fileOffset += header.memberBytes
            offset += header.inflatedBytes
        }
        guard fileOffset < files[index].bytes else { return }
        let skip = start - offset
        try readChunk()
        pendingStart = skip
    }

    private mutating func closeFile() {
        readAhead = nil
        descriptor?.close()
        descriptor = nil
        members = nil
    }

    /// Opens file `index`: its committed version, checked against the ledger's size.
    private mutating func open(_ index: Int) throws(SpoolReadError) {
        closeFile()
        fileIndex = index
        (offset, fileOffset, lineNumber, lineOffset, pending, pendingStart) = (0, 0, 0, 0, [], 0)
        let file = files[index]
        var candidates = [path(of: index)]
        if let replacement = file.replacementName { candidates.append(folder + "/" + replacement) }
        var found = -1
        for candidate in candidates {
            guard let opened = try? FileDescriptor.open(candidate, for: .reading) else { continue }
            let size = (try? opened.status().size) ?? -1
            if size == file.bytes {
                descriptor = opened
                if file.compressed { members = SpoolMemberReader(path: candidate, descriptor: opened, fileBytes: size) }
                return
            }
            if found < 0 { found = size }
            opened.close()
        }
        if found < 0 { throw .unreadable(path: candidates[0], error: .noSuchFile) }
        throw .changed(path: candidates[0], expected: file.bytes, found: found)
    }

    private mutating func readChunk() throws(SpoolReadError) {
        pending.removeFirst(pendingStart)
        pendingStart = 0
        if let members {
            if readAhead == nil { readAhead = try SpoolMemberReadAhead(members, from: fileOffset) }
            guard let member = try readAhead!.next() else {
                throw .damaged(path: members.path, problem: "its members end before its committed size")
            }
            // A member ends with a record's end, so nothing of the one before is left.
            if pending.isEmpty {
                var done = member.records
                swap(&pending, &done)
                readAhead!.recycle(done)
            } else {
                pending += member.records
            }
            fileOffset += member.memberBytes
            offset += member.records.count
            progress?.advance(by: member.memberBytes)
            return
        }
        let want = min(chunkBytes, files[fileIndex].bytes - fileOffset)
        let start = pending.count
        pending += repeatElement(0, count: want)
        let (file, at) = (descriptor!, fileOffset)
        let n: Int
        do { n = try file.read(into: &pending, start..<pending.count, at: at) } catch {
            throw .unreadable(path: path(of: fileIndex), error: error)
        }
        guard n > 0 else { throw .unreadable(path: path(of: fileIndex), error: .inputOutput) }
        pending.removeLast(want - n)
        offset += n
        fileOffset = offset
        progress?.advance(by: n)
    }
}
