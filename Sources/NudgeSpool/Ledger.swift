import NudgeCore
import NudgeSystem
import Synchronization

/// One input a commit processed, as the ledger records it.
package struct LedgerInput: Sendable, Equatable {
    /// The path as given (`source.file` of its records); `-` for standard input.
    package var path: String
    /// The absolute path it was read from (nil for standard input): what a later run
    /// matches its inputs against.
    package var absolutePath: String?
    /// Bytes read (compressed bytes for gzip).
    package var size: Int
    /// ``ContentHasher`` digest of those bytes.
    package var fingerprint: String
    /// For an object in S3 (`absolutePath` its `s3://` URL): the version read, as
    /// S3's ETag. A later run that lists another ETag under the URL finds it changed.
    package var etag: String?
    package var format: InputFormat
    package var records: Int
    package var accepted: Int
    package var dropped: Int
    package var status: InputSummary.Status

    package init(path: String, absolutePath: String? = nil, size: Int, fingerprint: String, etag: String? = nil, format: InputFormat, records: Int, accepted: Int, dropped: Int, status: InputSummary.Status) {
        self.path = path
        self.absolutePath = absolutePath
        self.size = size
        self.fingerprint = fingerprint
        self.etag = etag
        self.format = format
        self.records = records
        self.accepted = accepted
        self.dropped = dropped
        self.status = status
    }
}

/// What a `redrive` commit changed: the dropped files it rewrote without the records
/// it moved to its accepted file, and how many records each input file gave up.
package struct RedriveChange: Sendable, Equatable {
    /// One rewritten `dropped/KKKKKKKK.ndjson`: its commit, new size and records moved out.
    package struct Replaced: Sendable, Equatable {
        package var commit: Int
        package var droppedBytes: Int
        package var moved: Int

        package init(commit: Int, droppedBytes: Int, moved: Int) {
            self.commit = commit
            self.droppedBytes = droppedBytes
            self.moved = moved
        }
    }

    /// Records moved out of the records of one input path (`source.file`).
    package struct Source: Sendable, Equatable {
        package var path: String
        package var moved: Int

        package init(path: String, moved: Int) {
            self.path = path
            self.moved = moved
        }
    }

    package var replaced: [Replaced]
    package var sources: [Source]
    /// Records moved in all: the lines of this commit's accepted file.
    package var moved: Int { replaced.reduce(0) { $0 + $1.moved } }

    package init(replaced: [Replaced], sources: [Source]) {
        self.replaced = replaced
        self.sources = sources
    }
}

/// One commit: the inputs it made durable and the files it added to the spool, or
/// (``redrive``) the dropped records it moved to the accepted spool.
package struct LedgerEntry: Sendable, Equatable {
    package var commit: Int
    /// UTC, `toISOString()` form.
    package var committedAt: String
    /// Empty for a redrive commit.
    package var inputs: [LedgerInput]
    /// Present for a commit of `nudge-ingest redrive`.
    package var redrive: RedriveChange?
    /// Sizes of `accepted/NNNNNNNN.ndjson`, `dropped/NNNNNNNN.ndjson` (0: no file) and
    /// `state/NNNNNNNN.journal`.
    package var acceptedBytes: Int
    package var droppedBytes: Int
    package var journalBytes: Int

    /// Lines of this commit's accepted file: its inputs' accepted records, or what a
    /// redrive moved.
    package var acceptedRecords: Int {
        redrive?.moved ?? inputs.reduce(0) { $0 + $1.accepted }
    }

    /// The spool file name of a commit: `NNNNNNNN.ndjson`.
    package static func spoolFileName(_ commit: Int) -> String { number(commit) + ".ndjson" }
    package static func journalFileName(_ commit: Int) -> String { number(commit) + ".journal" }
    static func number(_ commit: Int) -> String { String(commit).leftPadded(to: 8) }
    /// The hidden name under which redrive commit `by` writes the new version of the
    /// dropped file of commit `commit`, renamed over it once `by` is committed.
    package static func replacementFileName(of commit: Int, by redrive: Int) -> String {
        "." + spoolFileName(commit) + ".redrive-" + number(redrive) + ".partial"
    }

    /// The ledger line: JSON, then the CRC-32 of the text before `,"crc32"`.
    var line: [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.value("commit", commit)
        json.value("committed_at", committedAt)
        json.beginArray("inputs")
        for input in inputs {
            json.beginObject()
            json.value("path", input.path)
            json.value("absolute_path", input.absolutePath)
            json.value("size", input.size)
            json.value("fingerprint", input.fingerprint)
            if let etag = input.etag { json.value("etag", etag) }
            json.value("format", input.format.rawValue)
            json.value("records", input.records)
            json.value("accepted", input.accepted)
            json.value("dropped", input.dropped)
            json.value("status", input.status.rawValue)
            json.endObject()
        }
        json.endArray()
        if let redrive {
            json.beginObject("redrive")
            json.beginArray("replaced")
            for file in redrive.replaced {
                json.beginObject()
                json.value("commit", file.commit)
                json.value("dropped_bytes", file.droppedBytes)
                json.value("moved", file.moved)
                json.endObject()
            }
            json.endArray()
            json.beginArray("sources")
            for source in redrive.sources {
                json.beginObject()
                json.value("path", source.path)
                json.value("moved", source.moved)
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.value("accepted_bytes", acceptedBytes)
        json.value("dropped_bytes", droppedBytes)
        json.value("journal_bytes", journalBytes)
        // The CRC-32 of everything before `,"crc32"`.
        let crc = json.withBytes { CRC32.checksum($0) }
        json.value("crc32", hex(UInt32(truncatingIfNeeded: crc)))
        json.endObject()
        return json.line
    }

    /// Reads a ledger line (without its `\n`); nil when it is not a whole, intact entry.
    init?(line: ArraySlice<UInt8>) {
        let marker = Array(",\"crc32\":\"".utf8)
        guard line.count > marker.count + 10, line.last == 0x7D,
              let markerStart = line.lastRange(of: marker)?.lowerBound
        else { return nil }
        let stored = String(decoding: line[(markerStart + marker.count)...].dropLast(2), as: UTF8.self)
        let crc = Array(line[..<markerStart]).withUnsafeBytes { CRC32.checksum($0) }
        guard stored == hex(UInt32(truncatingIfNeeded: crc)),
              let entry = try? Self(json: JSONValue(parsing: line).object())
        else { return nil }
        self = entry
    }

    /// Reads the members of a ledger line; members it does not know are ignored.
    private init(json object: JSONObject) throws(JSONReadError) {
        var inputs: [LedgerInput] = []
        for input in try object.array("inputs") {
            let input = try input.object()
            inputs.append(LedgerInput(
                path: try input.string("path"), absolutePath: try input.optionalString("absolute_path"),
                size: try input.int("size"), fingerprint: try input.string("fingerprint"),
                etag: try input.optionalString("etag"), format: try input.value("format", as: InputFormat.self),
                records: try input.int("records"), accepted: try input.int("accepted"), dropped: try input.int("dropped"),
                status: try input.value("status", as: InputSummary.Status.self)))
        }
        var redrive: RedriveChange?
        if let change = object["redrive"] {
            let change = try change.object()
            var reading = RedriveChange(replaced: [], sources: [])
            for file in try change.array("replaced") {
                let file = try file.object()
                reading.replaced.append(.init(commit: try file.int("commit"), droppedBytes: try file.int("dropped_bytes"),
                                              moved: try file.int("moved")))
            }
            for source in try change.array("sources") {
                let source = try source.object()
                reading.sources.append(.init(path: try source.string("path"), moved: try source.int("moved")))
            }
            redrive = reading
        }
        self.init(commit: try object.int("commit"), committedAt: try object.string("committed_at"), inputs: inputs,
                  redrive: redrive, acceptedBytes: try object.int("accepted_bytes"),
                  droppedBytes: try object.int("dropped_bytes"), journalBytes: try object.int("journal_bytes"))
    }

    init(commit: Int, committedAt: String, inputs: [LedgerInput], redrive: RedriveChange? = nil,
         acceptedBytes: Int, droppedBytes: Int, journalBytes: Int) {
        self.commit = commit
        self.committedAt = committedAt
        self.inputs = inputs
        self.redrive = redrive
        self.acceptedBytes = acceptedBytes
        self.droppedBytes = droppedBytes
        self.journalBytes = journalBytes
    }
}

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
        entries.filter { $0.acceptedBytes > 0 }.map { CommittedFile(commit: $0.commit, bytes: $0.acceptedBytes) }
    }

    /// The committed dropped files, in commit order, at their current versions: a file
    /// a redrive rewrote has the size that redrive gives it, and names it.
    package var droppedFiles: [CommittedFile] {
        var files = entries.map { CommittedFile(commit: $0.commit, bytes: $0.droppedBytes) }
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
    private static let readBefore = Mutex<[String: KeptLedger]>([:])

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

/// A spool file a commit vouches for: `accepted/` or `dropped/NNNNNNNN.ndjson` of
/// `commit`, `bytes` long; `replacedBy` names the redrive commit that last rewrote it.
package struct CommittedFile: Sendable, Equatable {
    package var commit: Int
    package var bytes: Int
    package var replacedBy: Int?

    package init(commit: Int, bytes: Int, replacedBy: Int? = nil) {
        self.commit = commit
        self.bytes = bytes
        self.replacedBy = replacedBy
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
