import NudgeCore
import NudgeSpool

/// One page of `nudge-ingest audit list`: the dropped records a filter selects, in
/// spool order, with a cursor to the next page (`schemas/audit-list.schema.json`).
///
/// A page holds at most ``maximumLimit`` records and the cursor is a position in the
/// spool, so a script pages through millions of records in constant memory.
package struct AuditPage: Sendable {
    package static let defaultLimit = 50
    package static let maximumLimit = 1000

    /// The records, each the spool line exactly (a `dropped-record`).
    package var records: [[UInt8]] = []
    /// Each record's ``DropID``, in the same order.
    package var ids: [DropID] = []
    /// Where the next page starts; nil when this is the last.
    package var nextCursor: String?
    package var hasMore: Bool { nextCursor != nil }

    /// Matching records after this page, when the page was asked to count them
    /// (`countingMore`); nil when not counted. At most ``moreCountLimit``: the count
    /// stops there (``moreMatchingIsAtLeast``), so a page never costs a whole read of a
    /// large spool.
    package var moreMatching: Int?
    /// Matches after a page counted at most.
    package static let moreCountLimit = 10_000
    /// Whether counting stopped at ``moreCountLimit``: at least that many match.
    package var moreMatchingIsAtLeast: Bool { (moreMatching ?? 0) >= Self.moreCountLimit }

    /// Reads the page of `limit` records matching `filter` that starts at `cursor`
    /// (nil: the first page). With `countingMore`, a page cut by its limit reads on to
    /// count the matches after it (``moreMatching``, up to ``moreCountLimit``), holding
    /// no more of them than the count.
    package static func make(
        spool: String, filter: AuditFilter, limit: Int = defaultLimit, cursor: String? = nil,
        countingMore: Bool = false, progress: ScanProgress? = nil
    ) throws(AuditError) -> AuditPage {
        var page = AuditPage()
        var last: Cursor?
        var more = 0
        try matches(spool: spool, filter: filter, cursor: cursor, progress: progress) {
            (drop, version) throws(AuditError) -> Bool in
            guard page.records.count < limit else {
                page.nextCursor = last?.text
                more += 1
                return countingMore && more < moreCountLimit
            }
            page.records.append(Array(drop.bytes))
            page.ids.append(DropID(commit: drop.commit, line: drop.record.line))
            last = Cursor(commit: drop.commit, version: version, offset: drop.lineOffset + drop.bytes.count + 1,
                          sourceLine: drop.record.line, filter: filter.digest)
            return true
        }
        if countingMore { page.moreMatching = more }
        return page
    }

    /// Hands every record matching `filter` from `cursor` on (nil: from the start) to
    /// `body`, the spool line exactly, valid only during the call, until `body` returns
    /// false: `audit list --all`, which holds one record at a time however many match.
    /// Returns how many were handed.
    @discardableResult
    package static func forEach(
        spool: String, filter: AuditFilter, cursor: String? = nil, progress: ScanProgress? = nil,
        _ body: (UnsafeRawBufferPointer) -> Bool
    ) throws(AuditError) -> Int {
        var count = 0
        try matches(spool: spool, filter: filter, cursor: cursor, progress: progress) { (drop, _) throws(AuditError) -> Bool in
            count += 1
            return body(drop.bytes)
        }
        return count
    }

    /// The records matching `filter` after `cursor`, in spool order, each with the
    /// version of its file (for a cursor beside it), until `body` returns false.
    private static func matches(
        spool: String, filter: AuditFilter, cursor: String?, progress: ScanProgress?,
        _ body: (ScannedDrop, _ version: Int) throws(AuditError) -> Bool
    ) throws(AuditError) {
        var scan: DroppedSpoolScan
        do { scan = try DroppedSpoolScan(spool: spool) } catch { throw .spool(error) }
        progress?.begin(totalBytes: scan.ledger.droppedFiles.reduce(0) { $0 + $1.bytes })
        scan.lines.progress = progress
        var skipThrough: (commit: Int, line: Int)?
        if let cursor {
            let position = try Cursor(cursor, filter: filter)
            skipThrough = try position.resume(&scan.lines)
        }
        let versions = Dictionary(uniqueKeysWithValues: scan.lines.files.map { ($0.commit, $0.replacedBy ?? $0.commit) })
        let skipping: ((UnsafeRawBufferPointer) -> Bool)? = filter.reasons.isEmpty ? nil : { filter.rejectsByReason($0) }
        try scan.forEach(skipping: skipping) { (drop) throws(AuditError) -> Bool in
            if let skip = skipThrough {
                if drop.commit == skip.commit && drop.record.line <= skip.line { return true }
                skipThrough = nil
            }
            guard filter.matches(drop) else { return true }
            return try body(drop, versions[drop.commit] ?? drop.commit)
        }
    }

    /// A position beside a record: the commit of its file, the file's version (the
    /// redrive that last rewrote it, else the commit), a byte offset (after the record
    /// for ascending pages, of its start for descending ones), its `source.line`, and
    /// the filter it was made with. Written as `c1.COMMIT.VERSION.OFFSET.LINE.FILTER`
    /// (`d1.…` descending); treat it as opaque.
    struct Cursor {
        var commit: Int
        var version: Int
        var offset: Int
        var sourceLine: Int
        var filter: String
        var descending = false

        var text: String { "\(descending ? "d1" : "c1").\(commit).\(version).\(offset).\(sourceLine).\(filter)" }

        init(commit: Int, version: Int, offset: Int, sourceLine: Int, filter: String, descending: Bool = false) {
            (self.commit, self.version, self.offset, self.sourceLine, self.filter) = (commit, version, offset, sourceLine, filter)
            self.descending = descending
        }

        /// Reads a cursor of the order asked for: one of the other order is refused.
        init(_ text: String, filter: AuditFilter, descending: Bool = false) throws(AuditError) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 6, parts[0] == (descending ? "d1" : "c1"),
                  let commit = Int(parts[1]), let version = Int(parts[2]), let offset = Int(parts[3]),
                  let line = Int(parts[4]), commit > 0, offset >= 0
            else {
                throw .badCursor("\"\(text)\" is not a cursor that \(descending ? "a descending page" : "audit list") gave")
            }
            guard parts[5] == filter.digest else {
                throw .badCursor("this cursor was made with other filters; repeat the filters of the first page")
            }
            self.init(commit: commit, version: version, offset: offset, sourceLine: line, filter: String(parts[5]),
                      descending: descending)
        }

        /// Moves `lines` to this position. When a redrive rewrote the file since, its
        /// offsets moved: the file is read from its start and the records up to
        /// `sourceLine` are skipped instead (returned for the caller to skip).
        func resume(_ lines: inout SpoolLineReader) throws(AuditError) -> (commit: Int, line: Int)? {
            guard let index = lines.files.firstIndex(where: { $0.commit >= commit }) else {
                do { try lines.seek(file: lines.files.count, offset: 0, line: 1) } catch { throw .reading(error) }
                return nil
            }
            let file = lines.files[index]
            do {
                if file.commit == commit && (file.replacedBy ?? file.commit) == version {
                    try lines.seek(file: index, offset: offset, line: 1)
                    return nil
                }
                try lines.seek(file: index, offset: 0, line: 1)
            } catch {
                throw .reading(error)
            }
            return file.commit == commit ? (commit, sourceLine) : nil
        }
    }
}

extension AuditPage {
    /// The committed dropped record `id` names, the spool line exactly; nil when there is
    /// none (never committed, or moved to the accepted spool by a redrive). Reads only
    /// its commit's file.
    package static func record(spool: String, id: DropID) throws(AuditError) -> [UInt8]? {
        var scan: DroppedSpoolScan
        do { scan = try DroppedSpoolScan(spool: spool) } catch { throw .spool(error) }
        guard let index = scan.lines.files.firstIndex(where: { $0.commit == id.commit }) else { return nil }
        do { try scan.lines.seek(file: index, offset: 0, line: 1) } catch { throw .reading(error) }
        var found: [UInt8]?
        try scan.forEach { (drop) throws(AuditError) -> Bool in
            guard drop.commit == id.commit else { return false }
            if drop.record.line == id.line { found = Array(drop.bytes) }
            return found == nil
        }
        return found
    }

    /// `{"data":[…],"next_cursor":…,"has_more":…}` with each record's `"id"` first.
    package var jsonWithIDs: String {
        Self.pageJSON(zip(records, ids).map { Self.withID($0, $1) }, nextCursor: nextCursor)
    }

    /// `{"data":[…],"next_cursor":…,"has_more":…}` around `items`, each a JSON value's
    /// bytes: the shape of every paged answer (`audit list`, `serve`'s lists).
    package static func pageJSON<Item: Collection<UInt8>>(_ items: some Sequence<Item>, nextCursor: String?) -> String {
        var out = JSONWriter()
        beginPage(&out)
        for item in items {
            let written: Void? = item.withContiguousStorageIfAvailable { out.json(nil, UnsafeRawBufferPointer($0)) }
            if written == nil { Array(item).withUnsafeBytes { out.json(nil, $0) } }
        }
        endPage(&out, nextCursor: nextCursor)
        return out.text
    }

    /// A page's start, `{"data":[`, after which each item is written with `out.json`:
    /// a page too long to hold (`audit list --all`) is written this way, drained as it goes.
    package static func beginPage(_ out: inout JSONWriter) {
        out.beginObject()
        out.beginArray("data")
    }

    /// A page's end: `],"next_cursor":…,"has_more":…}`.
    package static func endPage(_ out: inout JSONWriter, nextCursor: String?) {
        out.endArray()
        out.value("next_cursor", nextCursor)
        out.value("has_more", nextCursor != nil)
        out.endObject()
    }

    /// A spool line (an object) with `"id":"COMMIT-LINE"` as its first member.
    package static func withID(_ record: [UInt8], _ id: DropID) -> [UInt8] {
        Array("{\"id\":\"\(id)\",".utf8) + record.dropFirst()
    }
}

// MARK: - JSON and CSV

extension AuditPage {
    /// `{"data":[…],"next_cursor":…,"has_more":…}`.
    package var json: String {
        Self.pageJSON(records, nextCursor: nextCursor)
    }

    /// A header and one row per record: file, line, reason, type, event, message_id, detail.
    package var csv: String {
        ([Self.csvHeader] + records.compactMap { line in line.withUnsafeBytes(Self.csvRow) }).joined(separator: "\r\n")
    }

    package static let csvHeader = ["file", "line", "reason", "type", "event", "message_id", "detail"].joined(separator: ",")

    /// A record's CSV row, without its line end (nil for a line that is not a dropped record).
    package static func csvRow(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard let record = try? DroppedRecord.parse(bytes) else { return nil }
        let text = { (range: Range<Int>?) in DroppedRecord.string(range, in: bytes) ?? "" }
        return [text(record.file), String(record.line), record.reason.rawValue, text(record.type),
                text(record.event), text(record.messageID), text(record.detail)].map(csvField).joined(separator: ",")
    }
}
