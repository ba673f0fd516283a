/// What the rules decided for one record.
///
/// Ranges point into ``Decider/derived``, which holds the bytes the decision made
/// (sanitised names, the `ext_id`, the ISO timestamp) until the next record.
public enum Decision: Equatable, Sendable {
    /// An identify Nudge accepts; the body's other fields come from the event.
    case identify(extID: Range<Int>)
    /// A track Nudge accepts.
    case track(name: Range<Int>, extID: Range<Int>, occurredAt: Range<Int>, resolvedVia: LinkOrigin?)
    /// A record Nudge would drop, and why.
    case drop(ReasonCode, detail: String)
}

/// Applies the contract's rules 4–13, in order, to scanned records (rules 1–3, length
/// and JSON validity, are the framer's and the scanner's), updating the identity
/// state as it goes.
public struct Decider {
    public private(set) var state: IdentityState
    /// Bytes derived by the last decision.
    public private(set) var derived: [UInt8] = []
    private let arena: DecodeArena

    public init(state: IdentityState = IdentityState()) {
        self.state = state
        self.arena = DecodeArena()
        derived.reserveCapacity(4096)
    }

    /// Decides one record: `scanned` must come from scanning `line` into a JSON object.
    public mutating func decide(_ line: UnsafeRawBufferPointer, _ scanned: ScannedEvent) -> Decision {
        derived.removeAll(keepingCapacity: true)
        arena.reset(forLineOf: line.count)

        // Rule 4: every string messageId is remembered, whatever becomes of its record.
        if scanned.messageId.kind == .string {
            let messageID = arena.decoded(scanned.messageId, in: line)
            if state.rememberMessageID(messageID) {
                return .drop(.duplicateMessageID, detail: "messageId \(Quote.bytes(messageID)) was already seen")
            }
        }

        // Rules 5 and 6.
        guard scanned.type.kind == .string else {
            return .drop(.missingType, detail: scanned.type.isPresent
                ? "type is \(scanned.type.kind.article), not a string" : "the event has no type")
        }
        let type = arena.decoded(scanned.type, in: line)
        let isIdentify = type.equals("identify")
        guard isIdentify || type.equals("track") else {
            if type.equals("alias") { applyAlias(line, scanned) }
            return .drop(.unsupportedType, detail: "type \(Quote.bytes(type)) is not identify or track")
        }

        let userID = readUserID(line, scanned)
        let anonymousID = nonBlankString(scanned.anonymousId, line)
        if isIdentify {
            // Rules 7 and 8.
            guard case .valid(let extID) = userID else {
                return dropForUserID(userID, hasAnonymousID: anonymousID != nil, line, scanned, what: "identify")
            }
            let user = derived.withUnsafeBytes { state.addUser(extID: UnsafeRawBufferPointer(rebasing: $0[extID])) }
            state.markIdentified(user)
            if let anonymousID {
                state.link(anonymousID, to: user, origin: .anonymousID)
            }
            if let email = nonBlankString(scanned.traitsEmail, line) {
                withLowercased(email) { state.link($0, to: user, origin: .email) }
            }
            return .identify(extID: extID)
        }

        // Rule 9.
        guard let event = nonBlankString(scanned.event, line) else {
            return .drop(.missingEvent, detail: scanned.event.kind == .string
                ? "track event name is blank"
                : scanned.event.isPresent ? "track event is \(scanned.event.kind.article), not a string"
                : "track has no event name")
        }

        // Rule 10.
        let extID: Range<Int>
        var user: UInt32?
        var resolvedVia: LinkOrigin?
        switch userID {
        case .valid(let range):
            extID = range
            user = derived.withUnsafeBytes { state.user(extID: UnsafeRawBufferPointer(rebasing: $0[range])) }
        case .invalid:
            return dropForUserID(userID, hasAnonymousID: anonymousID != nil, line, scanned, what: "track")
        case .absentOrBlank:
            guard let anonymousID else {
                return dropForUserID(userID, hasAnonymousID: false, line, scanned, what: "track")
            }
            var link = state.linkedUser(anonymousID)
            if link == nil { withLowercased(anonymousID) { link = state.linkedUser($0) } }
            guard let (linked, origin) = link else {
                return .drop(.anonymousOnly, detail:
                    "track has no userId and its anonymousId \(Quote.bytes(anonymousID)) is linked to no user")
            }
            let start = derived.count
            state.appendExtID(of: linked, to: &derived)
            extID = start..<derived.count
            user = linked
            resolvedVia = origin
        }

        // Rule 11.
        let timestampText = scanned.timestamp.kind == .string ? arena.decoded(scanned.timestamp, in: line) : nil
        guard let timestamp = timestampText.flatMap(Timestamp.parse) else {
            let detail = timestampText.map { "timestamp \(Quote.bytes($0)) is not an RFC 3339 date-time" }
                ?? (scanned.timestamp.isPresent
                    ? "timestamp is \(scanned.timestamp.kind.article), not a string" : "track has no timestamp")
            return .drop(.invalidTimestamp, detail: detail)
        }

        // Rule 12.
        guard let user, state.isIdentified(user) else {
            let who = derived.withUnsafeBytes { Quote.bytes(UnsafeRawBufferPointer(rebasing: $0[extID])) }
            return .drop(.notIdentified, detail: "no identify of user \(who) was accepted before this track")
        }

        // Rule 13.
        let nameStart = derived.count
        UnicodeText.appendSanitized(event, to: &derived)
        let name = nameStart..<derived.count
        let timeStart = derived.count
        timestamp.appendISOString(to: &derived)
        return .track(name: name, extID: extID, occurredAt: timeStart..<derived.count, resolvedVia: resolvedVia)
    }

    private enum UserIDReading {
        case valid(extID: Range<Int>)
        case absentOrBlank
        case invalid(JSONSpan)
    }

    /// Reads `userId` as the contract's "User id" section says; a valid one is
    /// sanitised into `derived`.
    private mutating func readUserID(_ line: UnsafeRawBufferPointer, _ scanned: ScannedEvent) -> UserIDReading {
        let span = scanned.userId
        let start = derived.count
        switch span.kind {
        case .absent, .null:
            return .absentOrBlank
        case .string:
            let text = arena.decoded(span, in: line)
            if UnicodeText.isBlank(text) { return .absentOrBlank }
            UnicodeText.appendSanitized(text, to: &derived)
        case .number where span.isInteger:
            derived.appendBytes(span.text(in: line))
        default:
            return .invalid(span)
        }
        return .valid(extID: start..<derived.count)
    }

    private func dropForUserID(
        _ reading: UserIDReading, hasAnonymousID: Bool, _ line: UnsafeRawBufferPointer, _ scanned: ScannedEvent,
        what: String
    ) -> Decision {
        switch reading {
        case .invalid(let span):
            let text = Quote.bytes(span.text(in: line), quoted: false)
            return .drop(.invalidUserID, detail:
                "\(what) userId \(text) is \(span.kind == .number ? "not an integer" : span.kind.article): Nudge takes a string or an integer")
        case .absentOrBlank where hasAnonymousID:
            return .drop(.anonymousOnly, detail: "\(what) has an anonymousId but no userId")
        default:
            let userIDState = scanned.userId.kind == .string ? "a blank userId" : scanned.userId.kind == .null ? "a null userId" : "no userId"
            return .drop(.missingUserID, detail: "\(what) has \(userIDState) and no anonymousId")
        }
    }

    /// An alias with a valid user id links its non-blank string `previousId` to that user.
    private mutating func applyAlias(_ line: UnsafeRawBufferPointer, _ scanned: ScannedEvent) {
        guard case .valid(let extID) = readUserID(line, scanned),
              let previousID = nonBlankString(scanned.previousId, line)
        else { return }
        let user = derived.withUnsafeBytes { state.addUser(extID: UnsafeRawBufferPointer(rebasing: $0[extID])) }
        state.link(previousID, to: user, origin: .alias)
    }

    /// The decoded text of a string that is not blank.
    private func nonBlankString(_ span: JSONSpan, _ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard span.kind == .string else { return nil }
        let text = arena.decoded(span, in: line)
        return UnicodeText.isBlank(text) ? nil : text
    }

    /// Calls `body` with JavaScript's `toLowerCase()` of `text`.
    private func withLowercased<R>(_ text: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var ascii = true
        for byte in text where byte >= 0x80 || (byte >= 0x41 && byte <= 0x5A) { ascii = false; break }
        if ascii { return body(text) }
        let lowered = Array(UnicodeText.javaScriptLowercased(String(decoding: text, as: UTF8.self)).utf8)
        return lowered.withUnsafeBytes(body)
    }
}

/// Scratch memory for string values decoded from the current line.
///
/// The rules decode each span at most once, the spans are disjoint parts of one line,
/// and decoded bytes are never longer than their escaped form, so the line's length
/// always suffices. The buffer grows only between lines, never while pointers into it
/// are in use. Owned by one decider; never shared across threads.
final class DecodeArena {
    private var storage: UnsafeMutableRawBufferPointer
    private var used = 0

    init() {
        storage = .allocate(byteCount: 64 << 10, alignment: 8)
    }

    deinit { storage.deallocate() }

    /// Starts a new line, making room for everything it can need.
    func reset(forLineOf length: Int) {
        used = 0
        let needed = length + 64
        if needed > storage.count {
            storage.deallocate()
            storage = .allocate(byteCount: max(needed, 2 * storage.count), alignment: 8)
        }
    }

    /// The decoded bytes of a string span: the line's own bytes when it has no escapes.
    /// Valid until the next `reset`.
    func decoded(_ span: JSONSpan, in line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let content = span.content(in: line)
        guard span.hasEscapes else { return content }
        precondition(used + content.count <= storage.count, "decode arena sized below its bound")
        let out = (storage.baseAddress! + used).assumingMemoryBound(to: UInt8.self)
        let count = JSONString.decode(content, into: out)
        used += count
        return UnsafeRawBufferPointer(start: out, count: count)
    }
}

extension JSONKind {
    /// "a number", "an object", … for details.
    var article: String {
        switch self {
        case .absent: return "absent"
        case .string: return "a string"
        case .number: return "a number"
        case .object: return "an object"
        case .array: return "an array"
        case .true: return "true"
        case .false: return "false"
        case .null: return "null"
        }
    }
}

/// Short, quoted renderings of values for one-line details.
enum Quote {
    static let limit = 80

    static func bytes(_ bytes: UnsafeRawBufferPointer, quoted: Bool = true) -> String {
        var text = String(decoding: bytes.prefix(limit * 4), as: UTF8.self)
        if text.count > limit { text = String(text.prefix(limit)) + "…" }
        text = text.map { $0.isNewline ? " " : String($0) }.joined()
        return quoted ? "\"\(text)\"" : text
    }
}
