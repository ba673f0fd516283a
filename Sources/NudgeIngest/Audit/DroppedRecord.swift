import NudgeCore

/// One line of the dropped spool, read: its reason and where it came from, with its
/// other members left as byte ranges of the line until something asks for them.
package struct DroppedRecord {
    package var reason: ReasonCode
    /// `source.line`, and `source.offset` for a `corrupt_input` fault.
    package var line: Int
    package var offset: Int?
    package var rawTruncated: Bool
    /// JSON values in the line: strings with their quotes; nil when absent or `null`.
    package var file: Range<Int>
    package var detail: Range<Int>
    package var type: Range<Int>?
    package var event: Range<Int>?
    package var messageID: Range<Int>?
    package var raw: Range<Int>

    /// Reads the members of a dropped record (see `schemas/dropped-record.schema.json`).
    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONMembers.Malformed) -> DroppedRecord {
        var reason: ReasonCode?
        var file: Range<Int>?, line: Int?, offset: Int?
        var detail: Range<Int>?, raw: Range<Int>?, truncated: Bool?
        var type: Range<Int>?, event: Range<Int>?, messageID: Range<Int>?
        func string(_ value: Range<Int>) -> Range<Int>? { bytes[value.lowerBound] == 0x22 ? value : nil }
        try JSONMembers.forEach(in: bytes, object: 0..<bytes.count) { (key, value) throws(JSONMembers.Malformed) in
            switch key.count {
            case 3 where key.equals("raw"): raw = string(value)
            case 4 where key.equals("type"): type = string(value)
            case 5 where key.equals("event"): event = string(value)
            case 6 where key.equals("reason"):
                let text = UnsafeRawBufferPointer(rebasing: bytes[value])
                reason = text.count > 2 ? ReasonCode.withName(UnsafeRawBufferPointer(rebasing: text[1..<(text.count - 1)])) : nil
            case 6 where key.equals("detail"): detail = string(value)
            case 6 where key.equals("source"):
                try JSONMembers.forEach(in: bytes, object: value) { (key, value) throws(JSONMembers.Malformed) in
                    if key.equals("file") {
                        file = string(value)
                    } else if key.equals("line") {
                        line = Self.integer(bytes, value)
                    } else if key.equals("offset") {
                        offset = Self.integer(bytes, value)
                    }
                }
            case 10 where key.equals("message_id"): messageID = string(value)
            case 13 where key.equals("raw_truncated"):
                truncated = UnsafeRawBufferPointer(rebasing: bytes[value]).equals("true")
            default: break
            }
        }
        guard let reason else { throw .init(problem: "no \"reason\" that is a reason code") }
        guard let file, let line else { throw .init(problem: "no \"source\" with a string \"file\" and a \"line\"") }
        guard let detail, let raw, let truncated else { throw .init(problem: "no \"detail\", \"raw\" or \"raw_truncated\"") }
        return DroppedRecord(reason: reason, line: line, offset: offset, rawTruncated: truncated, file: file,
                             detail: detail, type: type, event: event, messageID: messageID, raw: raw)
    }

    /// The text of the JSON string at `range` of `bytes`.
    package static func string(_ range: Range<Int>?, in bytes: UnsafeRawBufferPointer) -> String? {
        range.flatMap { JSONMembers.decodedString(bytes, $0) }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// A non-negative JSON integer's value.
    private static func integer(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) -> Int? {
        guard value.count <= 18 else { return nil }
        var result = 0
        for byte in bytes[value] {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            result = result * 10 + Int(byte - 0x30)
        }
        return value.isEmpty ? nil : result
    }
}

extension ReasonCode {
    /// The code whose name is `name` (UTF-8), without building a `String`.
    static func withName(_ name: UnsafeRawBufferPointer) -> ReasonCode? {
        for code in allCases where code.rawValue.utf8.count == name.count && code.rawValue.utf8.elementsEqual(name) {
            return code
        }
        return nil
    }
}
