/// The spans of a line that a dropped record copies or quotes.
package struct RecordLabels: Sendable {
    package var type = JSONSpan.absent
    package var event = JSONSpan.absent
    package var messageId = JSONSpan.absent
    package var anonymousId = JSONSpan.absent

    init() {}

    init(_ scanned: ScannedEvent) {
        type = scanned.type
        event = scanned.event
        messageId = scanned.messageId
        anonymousId = scanned.anonymousId
    }
}
