import NudgeCore
import NudgeSpool

/// One record met while scanning the dropped spool: its members, and what audit
/// derives from them on demand (strings, the event's time, its user ids).
package struct ScannedDrop {
    /// The spool line, valid only during the callback that receives it.
    package let bytes: UnsafeRawBufferPointer
    package let record: DroppedRecord
    /// Where the line is: the commit of its file, its byte offset there.
    package let commit: Int
    package let lineOffset: Int
    private let folderDay: Int64?

    init(bytes: UnsafeRawBufferPointer, record: DroppedRecord, commit: Int, lineOffset: Int, folderDay: Int64?) {
        self.bytes = bytes
        self.record = record
        self.commit = commit
        self.lineOffset = lineOffset
        self.folderDay = folderDay
    }

    package var reason: ReasonCode { record.reason }

    /// `source.file`.
    package var file: String { string(record.file) ?? "" }
    package var detail: String { string(record.detail) ?? "" }
    package var type: String? { record.type.flatMap(string) }
    package var event: String? { record.event.flatMap(string) }

    func string(_ range: Range<Int>) -> String? { DroppedRecord.string(range, in: bytes) }

    /// The original event, read from `raw` (nil when `raw` is cut or not a JSON object).
    package func originalEvent() -> RawEvent? {
        guard !record.rawTruncated, let line = JSONMembers.decodedString(bytes, record.raw) else { return nil }
        return RawEvent(line)
    }

    /// When the event happened, for `by day` and `--from`/`--to`: its `timestamp`
    /// when that is an RFC 3339 date-time, else the start of the received-day folder
    /// its file is in (Segment's `segment-logs/<source>/<received-day>/`), else nil.
    package func eventTime(_ event: RawEvent?) -> (milliseconds: Int64, fromFolder: Bool)? {
        if let time = event?.timestamp { return (time, false) }
        return folderDay.map { ($0, true) }
    }

    /// The received day named by a folder of `path`: a component that is a Unix time in
    /// milliseconds at midnight UTC (how Segment's S3 destination names them).
    static func receivedDay(inPath path: String) -> Int64? {
        for component in path.split(separator: "/").reversed()
        where component.utf8.count == 13 && component.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            if let value = Int64(component), value % 86_400_000 == 0 { return value }
        }
        return nil
    }
}

/// The fields of an original event that audit filters on, read from `raw`.
package struct RawEvent {
    /// `timestamp` as milliseconds since the epoch, when a valid RFC 3339 date-time.
    package var timestamp: Int64?
    /// `userId` (a string's text, an integer's JSON text), `anonymousId`, and the
    /// `ext_id` that `userId` sanitises to.
    package var userID: [UInt8]?
    package var anonymousID: [UInt8]?
    package var extID: [UInt8]?

    init?(_ line: [UInt8]) {
        var scanned = ScannedEvent()
        let result: Bool = line.withUnsafeBytes { line in
            guard case .object = JSONScanner().scan(line, into: &scanned) else { return false }
            func text(_ span: JSONSpan) -> [UInt8]? {
                span.kind == .string ? JSONString.decode(span.content(in: line)) : nil
            }
            if let time = text(scanned.timestamp) {
                timestamp = time.withUnsafeBytes { Timestamp.parse($0)?.millisecondsSinceEpoch }
            }
            if scanned.userId.kind == .number && scanned.userId.isInteger {
                userID = Array(scanned.userId.text(in: line))
            } else {
                userID = text(scanned.userId)
            }
            anonymousID = text(scanned.anonymousId)
            if let userID {
                var sanitized: [UInt8] = []
                userID.withUnsafeBytes { UnicodeText.appendSanitized($0, to: &sanitized) }
                extID = sanitized
            }
            return true
        }
        guard result else { return nil }
    }
}

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

/// Why an audit, a list or a redrive could not be made.
package enum AuditError: Error, Sendable, CustomStringConvertible {
    case spool(SpoolError)
    case reading(SpoolReadError)
    case badCursor(String)
    /// A write of `redrive` failed; nothing of it was committed.
    case writing(SpoolError)

    package var description: String {
        switch self {
        case .writing(let error): "\(error)"
        case .spool(let error): "\(error)"
        case .reading(let error): "\(error)"
        case .badCursor(let why): "--cursor: \(why)"
        }
    }
}
