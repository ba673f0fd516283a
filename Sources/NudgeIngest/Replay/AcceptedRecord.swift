/// One accepted record read back from the spool, with its body's exact bytes.
package struct AcceptedRecord: Sendable, Equatable {
    package var record: ReplayRecord
    /// The `body` object exactly as the spool holds it: what is sent.
    package var body: [UInt8]
    /// The record's `message_id` text (JSON, escaped) when it was a string.
    package var messageID: String?
    /// Where it is: commit number and 1-based line of `accepted/NNNNNNNN.ndjson.gz`, inflated.
    package var commit: Int
    package var line: Int
}
