import NudgeCore

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
