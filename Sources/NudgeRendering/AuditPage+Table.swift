import NudgeCore
import NudgeIngest

/// `audit list`'s table (`--format table`): a line per record.
extension AuditPage {
    /// One line per record: `file:line  reason  type/event  detail`.
    package var table: String {
        records.map { line in line.withUnsafeBytes(Self.tableRow) }.joined(separator: "\n")
    }

    /// A record's line of the table (empty for a line that is not a dropped record).
    package static func tableRow(_ bytes: UnsafeRawBufferPointer) -> String {
        guard let record = try? DroppedRecord.parse(bytes) else { return "" }
        let text = { (range: Range<Int>?) in DroppedRecord.string(range, in: bytes) }
        return "\(text(record.file) ?? ""):\(record.line)  \(record.reason.rawValue)  "
            + "\(text(record.type) ?? "-")/\(text(record.event) ?? "-")  \(text(record.detail) ?? "")"
    }
}
