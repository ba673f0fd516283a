/// What the rules decided for one record.
///
/// Ranges point into ``Decider/derived``, which holds the bytes the decision made
/// (sanitised names, the `ext_id`, the ISO timestamp, a drop's detail) until the next
/// record.
public enum Decision: Equatable, Sendable {
    /// An identify Nudge accepts; the body's other fields come from the event.
    case identify(extID: Range<Int>)
    /// A track Nudge accepts.
    case track(name: Range<Int>, extID: Range<Int>, occurredAt: Range<Int>, resolvedVia: LinkOrigin?)
    /// A record Nudge would drop, why, and a one-line explanation (UTF-8 text).
    case drop(ReasonCode, detail: Range<Int>)
}

/// Applies the contract's rules 4–13, in order, to scanned records (rules 1–3, length
/// and JSON validity, are the framer's and the scanner's), updating the identity
/// state as it goes.
public struct Decider {
    public internal(set) var state: IdentityState
    /// Bytes derived by the last decision.
    public private(set) var derived: [UInt8] = []
    /// Deciding again a record that was decided before (`redrive`): its `messageId` was
    /// remembered then, by this very record, so rule 4 is not applied again.
    public let isRedeciding: Bool
    /// The tracks this decider dropped that a later identify or link can still make
    /// acceptable (what `redrive` would move), to tell the user when it would.
    public private(set) var waitingTracks = WaitingTracks()
    private let arena: DecodeArena

    public init(state: IdentityState = IdentityState(), isRedeciding: Bool = false) {
        self.state = state
        self.isRedeciding = isRedeciding
        self.arena = DecodeArena()
        derived.reserveCapacity(4096)
    }

    /// Decides one record: `scanned` must come from scanning `line` into a JSON object.
    public mutating func decide(_ line: UnsafeRawBufferPointer, _ scanned: ScannedEvent) -> Decision {
        derived.removeAll(keepingCapacity: true)
        arena.reset(forLineOf: line.count)

        // Rule 4: every string messageId is remembered, whatever becomes of its record.
        if scanned.messageId.kind == .string && !isRedeciding {
            let messageID = arena.decoded(scanned.messageId, in: line)
            if state.rememberMessageID(messageID) {
                return drop(.duplicateMessageID) {
                    $0.append("messageId "); $0.appendQuote(of: messageID); $0.append(" was already seen")
                }
            }
        }

        // Rules 5 and 6.
        guard scanned.type.kind == .string else {
            let kind = scanned.type.kind
            return drop(.missingType) {
                if kind == .absent { $0.append("the event has no type"); return }
                $0.append("type is "); $0.append(kind.article); $0.append(", not a string")
            }
        }
        let type = arena.decoded(scanned.type, in: line)
        let isIdentify = type.equals("identify")
        guard isIdentify || type.equals("track") else {
            if type.equals("alias") { applyAlias(line, scanned) }
            return drop(.unsupportedType) {
                $0.append("type "); $0.appendQuote(of: type); $0.append(" is not identify or track")
            }
        }

        let userID = readUserID(line, scanned)
        let anonymousID = nonBlankString(scanned.anonymousId, line)
        if isIdentify {
            // Rules 7 and 8.
            guard case .valid(let extID, let raw) = userID else {
                return dropForUserID(userID, hasAnonymousID: anonymousID != nil, line, scanned, what: "identify")
            }
            let user = derived.withUnsafeBytes { state.addUser(extID: UnsafeRawBufferPointer(rebasing: $0[extID])) }
            countRecord(of: user, raw, extID)
            state.markIdentified(user)
            if let anonymousID {
                state.link(anonymousID, to: user, origin: .anonymousID)
            }
            if let email = nonBlankString(scanned.traitsEmail, line) {
                Self.withLowercased(email) { state.link($0, to: user, origin: .email) }
            }
            return .identify(extID: extID)
        }

        // Rule 9.
        guard let event = nonBlankString(scanned.event, line) else {
            let kind = scanned.event.kind
            return drop(.missingEvent) {
                switch kind {
                case .string: $0.append("track event name is blank")
                case .absent: $0.append("track has no event name")
                default: $0.append("track event is "); $0.append(kind.article); $0.append(", not a string")
                }
            }
        }

        // Rule 10.
        let extID: Range<Int>
        var user: UInt32?
        var resolvedVia: LinkOrigin?
        switch userID {
        case .valid(let range, let raw):
            extID = range
            // Known from here on even if never identified: `audit collisions` counts its userId forms.
            let named = derived.withUnsafeBytes { state.addUser(extID: UnsafeRawBufferPointer(rebasing: $0[range])) }
            countRecord(of: named, raw, range)
            user = named
        case .invalid:
            return dropForUserID(userID, hasAnonymousID: anonymousID != nil, line, scanned, what: "track")
        case .absentOrBlank:
            guard let anonymousID else {
                return dropForUserID(userID, hasAnonymousID: false, line, scanned, what: "track")
            }
            var link = state.linkedUser(anonymousID)
            if link == nil { Self.withLowercased(anonymousID) { link = state.linkedUser($0) } }
            guard let (linked, origin) = link else {
                // Rule 11 comes after this one: only a track with a valid timestamp can be accepted later.
                if !isRedeciding && scanned.timestamp.kind == .string
                    && Timestamp.parse(arena.decoded(scanned.timestamp, in: line)) != nil {
                    waitingTracks.add(anonymousID: anonymousID)
                }
                return drop(.anonymousOnly) {
                    $0.append("track has no userId and its anonymousId ")
                    $0.appendQuote(of: anonymousID)
                    $0.append(" is linked to no user")
                }
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
            let kind = scanned.timestamp.kind
            return drop(.invalidTimestamp) {
                if let timestampText {
                    $0.append("timestamp "); $0.appendQuote(of: timestampText); $0.append(" is not an RFC 3339 date-time")
                } else if kind == .absent {
                    $0.append("track has no timestamp")
                } else {
                    $0.append("timestamp is "); $0.append(kind.article); $0.append(", not a string")
                }
            }
        }

        // Rule 12.
        guard let user, state.isIdentified(user) else {
            if let user, !isRedeciding { waitingTracks.add(user: user) }
            return drop(.notIdentified) {
                $0.append("no identify of user ")
                $0.appendQuote(ofOwn: extID)
                $0.append(" was accepted before this track")
            }
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
        /// The sanitised `ext_id` in `derived`, and the `userId`'s own text.
        case valid(extID: Range<Int>, raw: UnsafeRawBufferPointer)
        case absentOrBlank
        case invalid(JSONSpan)
    }

    /// Reads `userId` as the contract's "User id" section says; a valid one is
    /// sanitised into `derived`.
    private mutating func readUserID(_ line: UnsafeRawBufferPointer, _ scanned: ScannedEvent) -> UserIDReading {
        let span = scanned.userId
        let start = derived.count
        let raw: UnsafeRawBufferPointer
        switch span.kind {
        case .absent, .null:
            return .absentOrBlank
        case .string:
            raw = arena.decoded(span, in: line)
            if UnicodeText.isBlank(raw) { return .absentOrBlank }
            UnicodeText.appendSanitized(raw, to: &derived)
        case .number where span.isInteger:
            raw = span.text(in: line)
            derived.appendBytes(raw)
        default:
            return .invalid(span)
        }
        return .valid(extID: start..<derived.count, raw: raw)
    }

    private mutating func dropForUserID(
        _ reading: UserIDReading, hasAnonymousID: Bool, _ line: UnsafeRawBufferPointer, _ scanned: ScannedEvent,
        what: StaticString
    ) -> Decision {
        switch reading {
        case .invalid(let span):
            return drop(.invalidUserID) {
                $0.append(what); $0.append(" userId "); $0.appendQuote(of: span.text(in: line), quoted: false)
                $0.append(" is "); $0.append(span.kind == .number ? "not an integer" : span.kind.article)
                $0.append(": Nudge takes a string or an integer")
            }
        case .absentOrBlank where hasAnonymousID:
            return drop(.anonymousOnly) { $0.append(what); $0.append(" has an anonymousId but no userId") }
        default:
            let kind = scanned.userId.kind
            return drop(.missingUserID) {
                $0.append(what)
                $0.append(kind == .string ? " has a blank userId" : kind == .null ? " has a null userId" : " has no userId")
                $0.append(" and no anonymousId")
            }
        }
    }

    /// A drop whose detail `write` appends to `derived`.
    private mutating func drop(_ reason: ReasonCode, detail write: (inout DetailText) -> Void) -> Decision {
        var text = DetailText(bytes: derived)
        derived = []  // leaves `text` the only owner, so appending copies nothing
        let start = text.bytes.count
        write(&text)
        derived = text.bytes
        return .drop(reason, detail: start..<derived.count)
    }

    /// An alias with a valid user id links its non-blank string `previousId` to that user.
    private mutating func applyAlias(_ line: UnsafeRawBufferPointer, _ scanned: ScannedEvent) {
        guard case .valid(let extID, let raw) = readUserID(line, scanned),
              let previousID = nonBlankString(scanned.previousId, line)
        else { return }
        let user = derived.withUnsafeBytes { state.addUser(extID: UnsafeRawBufferPointer(rebasing: $0[extID])) }
        countRecord(of: user, raw, extID)
        state.link(previousID, to: user, origin: .alias)
    }

    /// Counts, for `audit collisions`, a record that named `user` by the `userId` `raw`
    /// (not when deciding again: the record was counted the first time).
    private mutating func countRecord(of user: UInt32, _ raw: UnsafeRawBufferPointer, _ extID: Range<Int>) {
        guard !isRedeciding else { return }
        derived.withUnsafeBytes { state.countRecord(of: user, userID: raw, extID: UnsafeRawBufferPointer(rebasing: $0[extID])) }
    }

    /// The decoded text of a string that is not blank.
    private func nonBlankString(_ span: JSONSpan, _ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard span.kind == .string else { return nil }
        let text = arena.decoded(span, in: line)
        return UnicodeText.isBlank(text) ? nil : text
    }

    /// Calls `body` with JavaScript's `toLowerCase()` of `text`.
    /// (Static, so `body` may change `self` without the copy a borrowed `self` would force.)
    static func withLowercased<R>(_ text: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var ascii = true
        var hasUppercase = false
        for byte in text {
            if byte >= 0x80 { ascii = false; break }
            if byte >= 0x41 && byte <= 0x5A { hasUppercase = true }
        }
        if ascii {
            guard hasUppercase else { return body(text) }
            return withUnsafeTemporaryAllocation(byteCount: text.count, alignment: 1) { lowered in
                for (index, byte) in text.enumerated() {
                    lowered[index] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                }
                return body(UnsafeRawBufferPointer(lowered))
            }
        }
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
    var article: StaticString {
        switch self {
        case .absent: return "absent"
        case .string: return "a string"
        case .number: return "a number"
        case .object: return "an object"
        case .array: return "an array"
        case .true, .false: return "a boolean"
        case .null: return "null"
        }
    }
}

/// A drop's one-line detail being written: literal text and short renderings of
/// values, in UTF-8 bytes, without `String` work on the hot path.
struct DetailText {
    /// Values are cut to this many characters (Unicode scalars), then `…`.
    static let valueLimit = 80

    var bytes: [UInt8]

    mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// `value` (valid UTF-8) in quotes, cut to ``valueLimit`` scalars, line breaks as spaces.
    mutating func appendQuote(of value: UnsafeRawBufferPointer, quoted: Bool = true) {
        if quoted { bytes.append(0x22) }
        var index = 0
        var scalars = 0
        while index < value.count {
            if scalars == Self.valueLimit {
                append("…")
                break
            }
            let lead = value[index]
            let length = min(lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4, value.count - index)
            let isLineBreak = (lead >= 0x0A && lead <= 0x0D)
                || (length == 2 && lead == 0xC2 && value[index + 1] == 0x85)
                || (length == 3 && lead == 0xE2 && value[index + 1] == 0x80 && value[index + 2] & 0xFE == 0xA8)
            if isLineBreak {
                bytes.append(0x20)
            } else {
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[index..<(index + length)]))
            }
            index += length
            scalars += 1
        }
        if quoted { bytes.append(0x22) }
    }

    /// Like `appendQuote(of:)`, of bytes already in this text.
    mutating func appendQuote(ofOwn range: Range<Int>) {
        withUnsafeTemporaryAllocation(byteCount: range.count, alignment: 1) { copy in
            bytes.withUnsafeBytes { copy.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[range])) }
            appendQuote(of: UnsafeRawBufferPointer(copy))
        }
    }
}

/// Tracks dropped as `not_identified` (by user) or `anonymous_only` (by anonymousId),
/// counted so that a run can say how many of them `redrive` would now accept. An
/// anonymousId is kept as the link keys of its own form and its lowercase form (what
/// the decider looks up), so that counting allocates nothing per record.
public struct WaitingTracks: Sendable {
    private struct AnonymousKeys: Hashable {
        var exact: Fingerprint
        var lowercased: Fingerprint
    }

    private var byUser: [UInt32: Int] = [:]
    private var byAnonymousID: [AnonymousKeys: Int] = [:]

    mutating func add(user: UInt32) { byUser[user, default: 0] += 1 }

    mutating func add(anonymousID: UnsafeRawBufferPointer) {
        let keys = AnonymousKeys(exact: IdentityState.linkKey(anonymousID),
                                 lowercased: Decider.withLowercased(anonymousID, IdentityState.linkKey))
        byAnonymousID[keys, default: 0] += 1
    }

    /// How many of them `state` accepts: their user is identified now, or their
    /// anonymousId is linked now to an identified user.
    public func acceptable(in state: IdentityState) -> Int {
        var count = 0
        for (user, tracks) in byUser where state.isIdentified(user) { count += tracks }
        for (keys, tracks) in byAnonymousID {
            guard let link = state.linkedUser(key: keys.exact) ?? state.linkedUser(key: keys.lowercased) else { continue }
            if state.isIdentified(link.user) { count += tracks }
        }
        return count
    }
}

extension IdentityState {
    /// Whether a track with this `ext_id` (and no other fault) is accepted now.
    public func acceptsTrack(extID: UnsafeRawBufferPointer) -> Bool {
        user(extID: extID).map(isIdentified) ?? false
    }

    /// Whether a track with no `userId` and this `anonymousId` (and no other fault) is
    /// accepted now: the id, or its lowercase form, is linked to an identified user.
    public func acceptsTrack(anonymousID: UnsafeRawBufferPointer) -> Bool {
        var link = linkedUser(anonymousID)
        if link == nil { Decider.withLowercased(anonymousID) { link = linkedUser($0) } }
        return link.map { isIdentified($0.user) } ?? false
    }
}
