// Foundation's JSON parser reads the ledger: one short line per commit, read once when
// a spool is opened, far from the hot path.
import Foundation

/// One input a commit processed, as the ledger records it.
public struct LedgerInput: Sendable, Equatable {
    /// The path as given (`source.file` of its records); `-` for standard input.
    public var path: String
    /// The absolute path it was read from (nil for standard input): what a later run
    /// matches its inputs against.
    public var absolutePath: String?
    /// Bytes read (compressed bytes for gzip).
    public var size: Int
    /// ``ContentHasher`` digest of those bytes.
    public var fingerprint: String
    public var format: InputFormat
    public var records: Int
    public var accepted: Int
    public var dropped: Int
    public var status: InputSummary.Status
}

/// One commit: the inputs it made durable and the files it added to the spool.
public struct LedgerEntry: Sendable, Equatable {
    public var commit: Int
    /// UTC, `toISOString()` form.
    public var committedAt: String
    public var inputs: [LedgerInput]
    /// Sizes of `accepted/NNNNNNNN.ndjson`, `dropped/NNNNNNNN.ndjson` (0: no file) and
    /// `state/NNNNNNNN.journal`.
    public var acceptedBytes: Int
    public var droppedBytes: Int
    public var journalBytes: Int

    /// The spool file name of a commit: `NNNNNNNN.ndjson`.
    public static func spoolFileName(_ commit: Int) -> String { number(commit) + ".ndjson" }
    public static func journalFileName(_ commit: Int) -> String { number(commit) + ".journal" }
    static func number(_ commit: Int) -> String { String(commit).leftPadded(to: 8) }

    /// The ledger line: JSON, then the CRC-32 of the text before `,"crc32"`.
    var line: [UInt8] {
        var out = ByteBuffer(capacity: 512)
        func key(_ name: StaticString) { out.append(0x22); out.append(name); out.append(0x22); out.append(0x3A) }
        func int(_ value: Int) { JSONOutput.appendDecimal(value, to: &out) }
        func string(_ text: String) { JSONOutput.appendString(text, to: &out) }
        out.append(0x7B)
        key("commit"); int(commit)
        out.append(0x2C); key("committed_at"); string(committedAt)
        out.append(0x2C); key("inputs"); out.append(0x5B)
        for (i, input) in inputs.enumerated() {
            if i > 0 { out.append(0x2C) }
            out.append(0x7B)
            key("path"); string(input.path)
            out.append(0x2C); key("absolute_path")
            if let absolute = input.absolutePath { string(absolute) } else { out.append("null") }
            out.append(0x2C); key("size"); int(input.size)
            out.append(0x2C); key("fingerprint"); string(input.fingerprint)
            out.append(0x2C); key("format"); string(input.format.rawValue)
            out.append(0x2C); key("records"); int(input.records)
            out.append(0x2C); key("accepted"); int(input.accepted)
            out.append(0x2C); key("dropped"); int(input.dropped)
            out.append(0x2C); key("status"); string(input.status.rawValue)
            out.append(0x7D)
        }
        out.append(0x5D)
        out.append(0x2C); key("accepted_bytes"); int(acceptedBytes)
        out.append(0x2C); key("dropped_bytes"); int(droppedBytes)
        out.append(0x2C); key("journal_bytes"); int(journalBytes)
        let crc = out.withBytes { StateFile.crc32($0) }
        out.append(0x2C); key("crc32"); string(hex(UInt32(truncatingIfNeeded: crc)))
        out.append(0x7D)
        out.append(0x0A)
        return out.bytes
    }

    /// Reads a ledger line (without its `\n`); nil when it is not a whole, intact entry.
    init?(line: ArraySlice<UInt8>) {
        let marker = Array(",\"crc32\":\"".utf8)
        guard line.count > marker.count + 10, line.last == 0x7D,
              let markerStart = line.lastRange(of: marker)?.lowerBound
        else { return nil }
        let stored = String(decoding: line[(markerStart + marker.count)...].dropLast(2), as: UTF8.self)
        let crc = Array(line[..<markerStart]).withUnsafeBytes { StateFile.crc32($0) }
        guard stored == hex(UInt32(truncatingIfNeeded: crc)),
              let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
              let commit = object["commit"] as? Int, let committedAt = object["committed_at"] as? String,
              let inputs = object["inputs"] as? [[String: Any]],
              let acceptedBytes = object["accepted_bytes"] as? Int, let droppedBytes = object["dropped_bytes"] as? Int,
              let journalBytes = object["journal_bytes"] as? Int
        else { return nil }
        var read: [LedgerInput] = []
        for input in inputs {
            guard let path = input["path"] as? String, let size = input["size"] as? Int,
                  let fingerprint = input["fingerprint"] as? String,
                  let format = (input["format"] as? String).flatMap(InputFormat.init(rawValue:)),
                  let records = input["records"] as? Int, let accepted = input["accepted"] as? Int,
                  let dropped = input["dropped"] as? Int,
                  let status = (input["status"] as? String).flatMap(InputSummary.Status.init(rawValue:))
            else { return nil }
            read.append(LedgerInput(path: path, absolutePath: input["absolute_path"] as? String, size: size,
                                    fingerprint: fingerprint, format: format, records: records,
                                    accepted: accepted, dropped: dropped, status: status))
        }
        self.init(commit: commit, committedAt: committedAt, inputs: read, acceptedBytes: acceptedBytes,
                  droppedBytes: droppedBytes, journalBytes: journalBytes)
    }

    init(commit: Int, committedAt: String, inputs: [LedgerInput], acceptedBytes: Int, droppedBytes: Int, journalBytes: Int) {
        self.commit = commit
        self.committedAt = committedAt
        self.inputs = inputs
        self.acceptedBytes = acceptedBytes
        self.droppedBytes = droppedBytes
        self.journalBytes = journalBytes
    }
}

/// `SPOOL/state/ledger.ndjson`: one line per commit, appended and synced last, so a
/// commit exists exactly when its line does.
public struct Ledger: Sendable {
    public let path: String
    public private(set) var entries: [LedgerEntry] = []
    /// The file's length after the last whole entry.
    private var length = 0

    public var lastCommit: Int { entries.last?.commit ?? 0 }

    /// The committed entries of the spool at `spool`, read without changing anything
    /// (what readers such as `replay` use while a run may be appending).
    public static func committed(inSpool spool: String) throws(SpoolError) -> Ledger {
        let path = spool + "/state/ledger.ndjson"
        guard Files.size(of: path) != nil else {
            throw .damaged(path: path, problem: "there is no ledger: \(spool) is not a spool `nudge-ingest run` wrote")
        }
        var notes: [String] = []
        return try load(path, notes: &notes, repair: false)
    }

    /// A new, empty ledger, synced, so that a spool with files but no ledger is known
    /// to be foreign rather than new.
    static func create(_ path: String) throws(SpoolError) -> Ledger {
        let fd = try Files.create(path)
        defer { close(fd) }
        try Files.sync(fd, path: path)
        return Ledger(path: path)
    }

    private init(path: String) {
        self.path = path
    }

    /// Reads the ledger. An unfinished last line (a commit interrupted while its line
    /// was written) is cut off when `repair` (the run holding the lock does that) and
    /// reported in `notes`, or just left out; any other bad line is damage.
    static func load(_ path: String, notes: inout [String], repair: Bool = true) throws(SpoolError) -> Ledger {
        let fd = open(path, repair ? O_RDWR | O_CLOEXEC : O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotRead(path: path, errno: errno) }
        defer { close(fd) }
        guard let bytes = Files.read(path) else { throw .cannotRead(path: path, errno: errno) }
        var ledger = Ledger(path: path)
        var start = 0
        while start < bytes.count {
            let newline = bytes[start...].firstIndex(of: 0x0A)
            let end = newline ?? bytes.count
            let isLast = newline == nil || end + 1 == bytes.count
            guard newline != nil, let entry = LedgerEntry(line: bytes[start..<end]),
                  entry.commit == ledger.lastCommit + 1
            else {
                guard isLast else {
                    throw .damaged(path: path, problem: "line \(ledger.entries.count + 1) is not an intact ledger entry "
                                   + "(its checksum, JSON or commit number is wrong)")
                }
                // An interrupted append: the commit never completed.
                guard repair else { break }
                guard ftruncate(fd, off_t(start)) == 0, fsync(fd) == 0 else { throw .cannotWrite(path: path, errno: errno) }
                notes.append("the ledger's last line was unfinished (a commit interrupted while it was written); "
                             + "it was removed, and that commit's input will be processed again")
                break
            }
            ledger.entries.append(entry)
            start = end + 1
            ledger.length = start
        }
        return ledger
    }

    /// Appends a commit's line and syncs it: the commit point. On failure the file is
    /// cut back to its last whole entry.
    mutating func append(_ entry: LedgerEntry) throws(SpoolError) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotWrite(path: path, errno: errno) }
        defer { close(fd) }
        let line = entry.line
        do throws(SpoolError) {
            if CrashPoint.isArmed(.ledgerHalfWritten, commit: entry.commit) {
                try Files.writeAll(fd, Array(line[..<(line.count / 2)]), path: path)
                CrashPoint.reach(.ledgerHalfWritten, commit: entry.commit)
            }
            try Files.writeAll(fd, line, path: path)
            try Files.sync(fd, path: path)
        } catch {
            ftruncate(fd, off_t(length))
            throw error
        }
        entries.append(entry)
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
