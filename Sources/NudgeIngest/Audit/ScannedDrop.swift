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
