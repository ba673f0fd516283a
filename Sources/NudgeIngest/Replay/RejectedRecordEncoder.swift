import NudgeCore

/// A rejected record: one line of the rejected spool, `SPOOL/rejected/rejected.ndjson.gz`
/// (`schemas/rejected-record.schema.json`).
enum RejectedRecordEncoder {
    /// Why a record was rejected, as the line's `reason` spells it.
    enum Reason: String {
        /// Nudge answered the request that carried it with a judgement (4xx, or 413 alone).
        case rejectedByNudge = "rejected_by_nudge"
        /// Its user's identify was rejected: it was never sent.
        case identifyRejected = "identify_rejected"
    }

    /// The line for `record`, its line feed included.
    static func line(
        _ record: AcceptedRecord, reason: Reason, status: Int?, response: [UInt8], attempts: Int
    ) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.value("reason", reason.rawValue)
        json.value("status", status)
        response.withUnsafeBytes { json.value("response", repairingUTF8: $0) }
        json.value("attempts", attempts)
        json.value("kind", record.record.kind.rawValue)
        if let id = record.messageID {
            // The spool's own JSON text of the string, escapes and all: copied, not escaped again.
            Array(("\"" + id + "\"").utf8).withUnsafeBytes { json.json("message_id", $0) }
        } else {
            json.value("message_id", String?.none)
        }
        json.beginObject("accepted")
        json.value("commit", record.commit)
        json.value("line", record.line)
        json.value("sequence", record.record.sequence)
        json.endObject()
        record.body.withUnsafeBytes { json.json("body", $0) }
        json.endObject()
        return json.line
    }
}
