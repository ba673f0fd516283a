import NudgeCore
import NudgeSystem

/// `SPOOL/state/ledger.ndjson`: one line per commit, appended and synced last, so a
/// commit exists exactly when its line does.
package struct Ledger: Sendable {
    package let path: String
    package private(set) var entries: [LedgerEntry] = []
    /// The file's length after the last whole entry.
    private var length = 0
    /// Where the last whole entry's line starts.
    private var lastEntryStart = 0

    package var lastCommit: Int { entries.last?.commit ?? 0 }

    /// Records in the committed accepted files: what `replay` numbers its sequences over.
    package var acceptedRecordCount: Int {
        entries.reduce(0) { $0 + $1.acceptedRecords }
    }

    /// The committed accepted files, in commit order, with the sizes the ledger gives.
    package var acceptedFiles: [CommittedFile] {
        entries.filter { $0.acceptedBytes > 0 }.map {
            CommittedFile(commit: $0.commit, bytes: $0.acceptedBytes, compressed: $0.compressed)
        }
    }

    /// The committed dropped files, in commit order, at their current versions: a file
    /// a redrive rewrote has the size that redrive gives it, and names it.
    package var droppedFiles: [CommittedFile] {
        var files = entries.map { CommittedFile(commit: $0.commit, bytes: $0.droppedBytes, compressed: $0.compressed) }
        for entry in entries {
            for file in entry.redrive?.replaced ?? [] where file.commit >= 1 && file.commit < entry.commit {
                files[file.commit - 1].bytes = file.droppedBytes
                files[file.commit - 1].replacedBy = entry.commit
            }
        }
        return files.filter { $0.bytes > 0 }
    }

    /// The committed entries of the spool at `spool`, read without changing anything
    /// (what readers such as `replay` use while a run may be appending).
    ///
    /// The entries read are kept for the process, so that asking again (as `serve` does
    /// at every request) parses only the lines appended since: a ledger only grows, and
    /// its whole lines are never rewritten, so only the file from the last entry read on
    /// is read again. The kept entries are used only while the file is the same one
    /// (device and inode) and still holds their last line where it was; anything else
    /// is read from the start.
    package static func committed(inSpool spool: String) throws(SpoolError) -> Ledger {
        let path = spool + "/state/ledger.ndjson"
        let status: FileStatus
        do {
            status = try FileSystem.status(of: path)
        } catch {
            try Self.explainMissingLedger(spool: spool, error: error)
            throw .cannotRead(path: path, error: error)
        }
        var ledger = Ledger(path: path)
        var bytes: [UInt8]?
        var base = 0
        if let kept = readBefore.withLock({ $0[path] }), kept.device == status.device, kept.inode == status.inode,
           kept.ledger.length <= status.size {
            let tail = try Files.read(path, from: kept.ledger.lastEntryStart)
            if tail.starts(with: kept.lastLine) {
                (ledger, bytes, base) = (kept.ledger, tail, kept.ledger.lastEntryStart)
            }
        }
        let read: [UInt8]
        if let bytes { read = bytes } else { read = try Files.read(path) }
        var notes: [String] = []
        try ledger.readEntries(of: read, from: base, file: nil, notes: &notes)
        let lastLine = Array(read[(ledger.lastEntryStart - base)..<(ledger.length - base)])
        readBefore.withLock { [ledger] in
            $0[path] = KeptLedger(ledger: ledger, device: status.device, inode: status.inode, lastLine: lastLine)
        }
        return ledger
    }

    /// What `committed(inSpool:)` has read in this process, by the ledger's path.
    private static let readBefore = ConditionLock<[String: KeptLedger]>([:])

    private struct KeptLedger: Sendable {
        var ledger: Ledger
        var device: UInt64
        var inode: UInt64
        /// The bytes of its last entry's line, to know the file still holds them.
        var lastLine: [UInt8]
    }

    /// Why a reader finds no ledger at `spool`, as precisely as the folder tells: it
    /// does not exist or is empty (no run wrote it), it cannot be read (permissions),
    /// it holds something else, or it holds spool files without their ledger (damage).
    private static func explainMissingLedger(spool: String, error ledgerError: SystemError) throws(SpoolError) {
        let status: FileStatus
        do { status = try FileSystem.status(of: spool) } catch {
            throw error == .noSuchFile ? .noSpool(path: spool) : .cannotRead(path: spool, error: error)
        }
        guard status.kind == .directory else { throw .notASpool(path: spool) }
        if ledgerError.isPermissionDenied { throw .cannotRead(path: spool + "/state/ledger.ndjson", error: ledgerError) }
        do { try FileSystem.checkListable(spool) } catch { throw .cannotRead(path: spool, error: error) }
        let spoolFiles = [spool + "/accepted", spool + "/dropped"].flatMap { Files.names(in: $0) }
            .filter { $0.hasSuffix(".ndjson") || $0.hasSuffix(".ndjson.gz") }
        if !spoolFiles.isEmpty || Files.size(of: spool + "/state/snapshot") != nil {
            throw .damaged(path: spool + "/state/ledger.ndjson", problem: "the spool holds records but no ledger: it was "
                           + "written by an earlier version of nudge-ingest, or its ledger was deleted")
        }
        // Empty, or only the bare folders of a spool (and hidden files such as a .gitignore).
        let others = Files.names(in: spool).filter { !$0.hasPrefix(".") && !["accepted", "dropped", "state"].contains($0) }
        throw others.isEmpty ? .noSpool(path: spool) : .notASpool(path: spool)
    }

    /// A new, empty ledger, synced, so that a spool with files but no ledger is known
    /// to be foreign rather than new.
    static func create(_ path: String) throws(SpoolError) -> Ledger {
        let file = try Files.create(path)
        defer { file.close() }
        try Files.sync(file, path: path)
        return Ledger(path: path)
    }

    private init(path: String) {
        self.path = path
    }

    /// Reads the ledger. An unfinished last line (a commit interrupted while its line
    /// was written) is cut off when `repair` (the run holding the lock does that) and
    /// reported in `notes`, or just left out; any other bad line is damage.
    static func load(_ path: String, notes: inout [String], repair: Bool = true) throws(SpoolError) -> Ledger {
        let file: FileDescriptor
        do { file = try .open(path, for: repair ? .readingAndWriting : .reading) } catch {
            throw .cannotRead(path: path, error: error)
        }
        defer { file.close() }
        var ledger = Ledger(path: path)
        try ledger.readEntries(of: try Files.read(path), from: 0, file: repair ? file : nil, notes: &notes)
        return ledger
    }

    /// Adds the entries of `bytes` (the ledger file from byte `base` on, `base` at most
    /// `length`) after those already read. An unfinished last line is cut off when
    /// `file` is given to repair, else left out.
    private mutating func readEntries(
        of bytes: [UInt8], from base: Int, file: FileDescriptor?, notes: inout [String]
    ) throws(SpoolError) {
        var start = length - base
        while start < bytes.count {
            let newline = bytes[start...].firstIndex(of: 0x0A)
            let end = newline ?? bytes.count
            let isLast = newline == nil || end + 1 == bytes.count
            guard newline != nil, let entry = LedgerEntry(line: bytes[start..<end]),
                  entry.commit == lastCommit + 1
            else {
                guard isLast else {
                    throw .damaged(path: path, problem: "line \(entries.count + 1) is not an intact ledger entry "
                                   + "(its checksum, JSON or commit number is wrong)")
                }
                // An interrupted append: the commit never completed.
                guard let file else { break }
                try Files.truncate(file, to: base + start, path: path)
                notes.append("the ledger's last line was unfinished (a commit interrupted while it was written); "
                             + "it was removed, and that commit's input will be processed again")
                break
            }
            entries.append(entry)
            lastEntryStart = base + start
            start = end + 1
            length = base + start
        }
    }

    /// Appends a commit's line and syncs it: the commit point. On failure the file is
    /// cut back to its last whole entry.
    mutating func append(_ entry: LedgerEntry) throws(SpoolError) {
        let file = try Files.open(path, for: .appending)
        defer { file.close() }
        let line = entry.line
        do throws(SpoolError) {
            if CrashPoint.isArmed(.ledgerHalfWritten, commit: entry.commit) {
                try Files.writeAll(file, Array(line[..<(line.count / 2)]), path: path)
                CrashPoint.reach(.ledgerHalfWritten, commit: entry.commit)
            }
            try Files.writeAll(file, line, path: path)
            try Files.sync(file, path: path)
        } catch {
            try? file.truncate(to: length)
            throw error
        }
        entries.append(entry)
        lastEntryStart = length
        length += line.count
    }
}

extension ArraySlice where Element == UInt8 {
    /// The range of the last occurrence of `pattern`.
    func lastRange(of pattern: [UInt8]) -> Range<Int>? {
        guard count >= pattern.count else { return nil }
        var start = endIndex - pattern.count
        while start >= startIndex {
            if self[start..<start + pattern.count].elementsEqual(pattern) { return start..<start + pattern.count }
            start -= 1
        }
        return nil
    }
}
