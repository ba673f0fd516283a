/// The spans of a line that a dropped record copies or quotes.
public struct RecordLabels: Sendable {
    public var type = JSONSpan.absent
    public var event = JSONSpan.absent
    public var messageId = JSONSpan.absent
    public var anonymousId = JSONSpan.absent

    init() {}

    init(_ scanned: ScannedEvent) {
        type = scanned.type
        event = scanned.event
        messageId = scanned.messageId
        anonymousId = scanned.anonymousId
    }
}
