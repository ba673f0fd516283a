import NudgeCore
import NudgeSystem
import Synchronization

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
    /// Sizes of `accepted/NNNNNNNN.ndjson.gz`, `dropped/NNNNNNNN.ndjson.gz` (0: no file;
    /// compressed, as the files are) and `state/NNNNNNNN.journal`.
    package var acceptedBytes: Int
    package var droppedBytes: Int
    package var journalBytes: Int
    /// Whether this commit's accepted and dropped files are compressed
    /// (`NNNNNNNN.ndjson.gz`, ``SpoolMember``s; `"compression":"gzip"` in the line).
    /// Commits written before compression, or with it turned off, have plain
    /// `NNNNNNNN.ndjson` files. A dropped file a redrive rewrites keeps its commit's form.
    package var compressed: Bool

    /// Lines of this commit's accepted file: its inputs' accepted records, or what a
    /// redrive moved.
    package var acceptedRecords: Int {
        redrive?.moved ?? inputs.reduce(0) { $0 + $1.accepted }
    }

    /// The spool file name of a commit: `NNNNNNNN.ndjson.gz`, or `NNNNNNNN.ndjson`
    /// uncompressed.
    package static func spoolFileName(_ commit: Int, compressed: Bool) -> String {
        number(commit) + (compressed ? ".ndjson.gz" : ".ndjson")
    }
    package static func journalFileName(_ commit: Int) -> String { number(commit) + ".journal" }
    static func number(_ commit: Int) -> String { String(commit).leftPadded(to: 8) }
    /// The hidden name under which redrive commit `by` writes the new version of the
    /// dropped file of commit `commit`, renamed over it once `by` is committed.
    package static func replacementFileName(of commit: Int, compressed: Bool, by redrive: Int) -> String {
        "." + spoolFileName(commit, compressed: compressed) + ".redrive-" + number(redrive) + ".partial"
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
        if compressed { json.value("compression", "gzip") }
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
        // A compression this version does not know makes the line unreadable, not plain.
        let compression = try object.optionalString("compression")
        guard compression == nil || compression == "gzip" else { throw JSONReadError(member: "compression", .unknownValue) }
        self.init(commit: try object.int("commit"), committedAt: try object.string("committed_at"), inputs: inputs,
                  redrive: redrive, acceptedBytes: try object.int("accepted_bytes"),
                  droppedBytes: try object.int("dropped_bytes"), journalBytes: try object.int("journal_bytes"),
                  compressed: compression != nil)
    }

    init(commit: Int, committedAt: String, inputs: [LedgerInput], redrive: RedriveChange? = nil,
         acceptedBytes: Int, droppedBytes: Int, journalBytes: Int, compressed: Bool) {
        self.commit = commit
        self.committedAt = committedAt
        self.inputs = inputs
        self.redrive = redrive
        self.acceptedBytes = acceptedBytes
        self.droppedBytes = droppedBytes
        self.journalBytes = journalBytes
        self.compressed = compressed
    }
}
