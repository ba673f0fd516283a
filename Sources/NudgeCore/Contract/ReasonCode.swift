/// Why a record went to the dropped spool: the contract's reason codes, in rule order.
public enum ReasonCode: String, CaseIterable, Sendable, Codable {
    case lineTooLong = "line_too_long"
    case malformedJSON = "malformed_json"
    case notAnObject = "not_an_object"
    case duplicateMessageID = "duplicate_message_id"
    case missingType = "missing_type"
    case unsupportedType = "unsupported_type"
    case missingUserID = "missing_user_id"
    case anonymousOnly = "anonymous_only"
    case invalidUserID = "invalid_user_id"
    case missingEvent = "missing_event"
    case invalidTimestamp = "invalid_timestamp"
    case notIdentified = "not_identified"
    /// Not a record: an input that could not be read, or whose gzip stream is corrupt,
    /// truncated or followed by garbage.
    case corruptInput = "corrupt_input"

    /// The record reasons in rule order, numbered, one a line, for `--help`.
    package static var ruleTable: String {
        func rule(_ number: Int, _ code: String, _ text: String) -> String {
            "  \(String(number).leftPadded(to: 2, with: " ")). \(code.rightPadded(to: 21)) \(text)"
        }
        var lines = [lineTooLong, malformedJSON, notAnObject, duplicateMessageID, missingType, unsupportedType]
            .enumerated().map { rule($0.offset + 1, $0.element.rawValue, $0.element.summary) }
        lines.append(rule(7, "user-id codes", "identify whose user id Nudge cannot take"))
        lines.append(rule(8, "(accepted)", "identify; its user becomes identified"))
        lines.append(rule(9, missingEvent.rawValue, missingEvent.summary))
        lines.append(rule(10, "user-id codes", "track whose user id is unusable and unresolved"))
        lines.append(rule(11, invalidTimestamp.rawValue, invalidTimestamp.summary))
        lines.append(rule(12, notIdentified.rawValue, notIdentified.summary))
        lines.append(rule(13, "(accepted)", "track"))
        lines.append("  The user-id codes:")
        for reason in [missingUserID, anonymousOnly, invalidUserID] {
            lines.append("      \(reason.rawValue.rightPadded(to: 21)) \(reason.summary)")
        }
        return lines.joined(separator: "\n")
    }

    /// What a user can do about records dropped for this reason (the audit's HTML page).
    public var remedy: String {
        switch self {
        case .lineTooLong:
            return "Usually a huge properties object. If the events are real, raise --max-line-bytes and run the file again "
                + "into a new spool; Nudge's own limit may still refuse them."
        case .malformedJSON:
            return "Not JSON, or not UTF-8: a file that is not part of the export (--exclude it), or lines cut or mangled "
                + "before they were archived. Look at the raw lines; fix them at the source and re-export."
        case .notAnObject:
            return "A line holding a bare value or an array: not an event. Check what wrote it into the export."
        case .duplicateMessageID:
            return "Segment's retries and replays deliver the same event twice; the first copy was kept. Nothing to do "
                + "unless the source reuses messageIds for different events."
        case .missingType:
            return "Events without a string type cannot be routed. Fix the sender, or correct the lines and check them "
                + "with `nudge-ingest preview`."
        case .unsupportedType:
            return "Nudge takes identify and track only; page, screen and group calls are expected here. Aliases still "
                + "link their previousId. Nothing to do."
        case .missingUserID:
            return "Events of nobody: neither userId nor anonymousId. Fix the sender if these should belong to a user."
        case .anonymousOnly:
            return "Anonymous activity whose anonymousId was never tied to a user by an identify or alias. If the "
                + "identify comes in a later export, `nudge-ingest redrive` accepts these tracks then."
        case .invalidUserID:
            return "userId is a float, boolean, object or array. Send it as a string or an integer; preview a corrected "
                + "event with `nudge-ingest preview`."
        case .missingEvent:
            return "Tracks need a non-blank event name. Fix the sender's track calls."
        case .invalidTimestamp:
            return "Tracks need an RFC 3339 timestamp (2025-03-10T08:00:00Z). Fix the sender's clock or serialiser."
        case .notIdentified:
            return "Tracks of a user whose identify had not been seen. When the identify is in a later export, run "
                + "`nudge-ingest redrive` after it; otherwise send an identify for these users first."
        case .corruptInput:
            return "The file is truncated or corrupt: the lines before the fault were kept. Download it again and run it "
                + "into the same spool with --reprocess-changed."
        }
    }

    /// One line for `--help` and the README.
    public var summary: String {
        switch self {
        case .lineTooLong: return "line longer than --max-line-bytes"
        case .malformedJSON: return "not strict JSON (RFC 8259) or not UTF-8"
        case .notAnObject: return "valid JSON, but not an object"
        case .duplicateMessageID: return "messageId already seen (this run or an earlier one)"
        case .missingType: return "type absent or not a string"
        case .unsupportedType: return "not identify or track (an alias still links)"
        case .missingUserID: return "no usable userId and no anonymousId"
        case .anonymousOnly: return "only an anonymousId, linked to no identified user"
        case .invalidUserID: return "userId is a float, boolean, object or array"
        case .missingEvent: return "track without a non-blank event name"
        case .invalidTimestamp: return "track timestamp absent or not RFC 3339"
        case .notIdentified: return "track of a user never identified before it"
        case .corruptInput: return "unreadable input or corrupt gzip (not a record)"
        }
    }
}

/// The kind of identity link that resolved a track without a usable `userId`.
package enum LinkOrigin: UInt8, Sendable {
    /// An identify's `anonymousId`.
    case anonymousID = 1
    /// An identify's `traits.email`, lowercased.
    case email = 2
    /// An alias's `previousId`.
    case alias = 3

    package var code: String {
        switch self {
        case .anonymousID: return "anonymous_id"
        case .email: return "email"
        case .alias: return "alias"
        }
    }
}
