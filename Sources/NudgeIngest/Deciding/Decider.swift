/// The sequential half of the record stage: applies the contract's rules that read
/// the identity state (4, 10 and 12, and the state changes of identifies and aliases)
/// to records a ``RecordParser`` parsed, one after another in input order, and writes
/// each record to the accepted or the dropped spool buffer.
///
/// Most records are written as the parser pre-encoded them; the decider writes a
/// record itself only when the state changes its fate (a repeated `messageId`, a track
/// whose user is not identified, an anonymous track linked to no user, or resolved
/// through a link).
public struct Decider {
    public internal(set) var state: IdentityState
    /// Deciding again a record that was decided before (`redrive`): its `messageId` was
    /// remembered then, by this very record, so rule 4 is not applied again.
    public let isRedeciding: Bool
    /// The tracks this decider dropped that a later identify or link can still make
    /// acceptable (what `redrive` would move), to tell the user when it would.
    public private(set) var waitingTracks = WaitingTracks()
    public private(set) var counts = OutcomeCounts()
    private let arena = DecodeArena()
    private var detail = DetailText(bytes: [])
    private var extID: [UInt8] = []
    private let encoder = RecordEncoder()

    public init(state: IdentityState = IdentityState(), isRedeciding: Bool = false) {
        self.state = state
        self.isRedeciding = isRedeciding
        detail.bytes.reserveCapacity(512)
    }

    /// Decides every record of `batch`, in order, taking the lines from `batch.lines`.
    public mutating func decide(_ batch: ParsedBatch, source: SourceFile, accepted: inout ByteBuffer, dropped: inout ByteBuffer) {
        batch.lines.withBytes { lines in
            for facts in batch.records {
                decide(facts, line: UnsafeRawBufferPointer(rebasing: lines[facts.lineBytes]), in: batch, source: source,
                       accepted: &accepted, dropped: &dropped)
            }
        }
    }

    /// Decides one record of `batch` whose line is `line`.
    public mutating func decide(
        _ facts: RecordFacts, line: UnsafeRawBufferPointer, in batch: ParsedBatch, source: SourceFile,
        accepted: inout ByteBuffer, dropped: inout ByteBuffer
    ) {
        counts.records += 1
        if case .rejected(let reason) = facts.verdict {
            counts[reason] += 1
            batch.output.withBytes(in: facts.encoded) { dropped.append($0) }
            return
        }
        // Rule 4: every string messageId is remembered, whatever becomes of its record.
        if let key = facts.messageID, !isRedeciding, state.rememberMessageID(key: key) {
            arena.reset(forLineOf: line.count)
            detail.append("messageId ")
            detail.appendQuote(of: arena.decoded(facts.labels.messageId, in: line))
            detail.append(" was already seen")
            return writeDrop(.duplicateMessageID, facts, line, source, &dropped)
        }
        switch facts.verdict {
        case .rejected:
            break
        case .dropped(let reason):
            counts[reason] += 1
            batch.output.withBytes(in: facts.encoded) { dropped.append($0) }
        case .alias(let link):
            if let link {
                let user = addUser(link.user, batch)
                state.link(key: link.previousIDKey, to: user, origin: .alias)
            }
            counts[.unsupportedType] += 1
            batch.output.withBytes(in: facts.encoded) { dropped.append($0) }
        case .identify(let named, let anonymousIDKey, let emailKey):
            let user = addUser(named, batch)
            state.markIdentified(user)
            if let anonymousIDKey { state.link(key: anonymousIDKey, to: user, origin: .anonymousID) }
            if let emailKey { state.link(key: emailKey, to: user, origin: .email) }
            counts.acceptedIdentify += 1
            batch.output.withBytes(in: facts.encoded) { accepted.append($0) }
        case .track(let named, let timestampIsValid):
            // Rule 10: known from here on even if never identified (`audit collisions` counts its forms).
            let user = addUser(named, batch)
            batch.text.withUnsafeBytes { text in
                decideTrack(facts, user: user, via: nil, extID: UnsafeRawBufferPointer(rebasing: text[named.extID]),
                            timestampIsValid: timestampIsValid, line, batch, source, &accepted, &dropped)
            }
        case .anonymousTrack(let keys, let timestampIsValid):
            guard let (user, origin) = state.linkedUser(key: keys.exact) ?? state.linkedUser(key: keys.lowercased) else {
                // Rule 11 comes after this one: only a track with a valid timestamp can be accepted later.
                if !isRedeciding && timestampIsValid { waitingTracks.add(keys) }
                arena.reset(forLineOf: line.count)
                detail.append("track has no userId and its anonymousId ")
                detail.appendQuote(of: arena.decoded(facts.labels.anonymousId, in: line))
                detail.append(" is linked to no user")
                return writeDrop(.anonymousOnly, facts, line, source, &dropped)
            }
            // Taken out of `self` while `decideTrack` changes it (keeps its capacity).
            var linkedExtID = extID
            extID = []
            linkedExtID.removeAll(keepingCapacity: true)
            state.appendExtID(of: user, to: &linkedExtID)
            linkedExtID.withUnsafeBytes { extID in
                decideTrack(facts, user: user, via: origin, extID: extID, timestampIsValid: timestampIsValid,
                            line, batch, source, &accepted, &dropped)
            }
            extID = linkedExtID
        }
    }

    /// Rules 11 and 12 for a track whose user is known: `user`, named `extID`.
    private mutating func decideTrack(
        _ facts: RecordFacts, user: UInt32, via origin: LinkOrigin?, extID: UnsafeRawBufferPointer,
        timestampIsValid: Bool, _ line: UnsafeRawBufferPointer, _ batch: ParsedBatch, _ source: SourceFile,
        _ accepted: inout ByteBuffer, _ dropped: inout ByteBuffer
    ) {
        // Rule 11: the parser wrote the drop.
        guard timestampIsValid else {
            counts[.invalidTimestamp] += 1
            batch.output.withBytes(in: facts.encoded) { dropped.append($0) }
            return
        }
        // Rule 12.
        guard state.isIdentified(user) else {
            if !isRedeciding { waitingTracks.add(user: user) }
            detail.append("no identify of user ")
            detail.appendQuote(of: extID)
            detail.append(" was accepted before this track")
            return writeDrop(.notIdentified, facts, line, source, &dropped)
        }
        counts.acceptedTrack += 1
        batch.output.withBytes(in: facts.encoded) { encoded in
            let split = facts.extIDOffset
            RecordEncoder.appendTrack(
                head: UnsafeRawBufferPointer(rebasing: encoded[..<split]),
                tail: UnsafeRawBufferPointer(rebasing: encoded[split...]),
                extID: extID, resolvedVia: origin, to: &accepted)
        }
    }

    /// Writes a drop whose detail is in `detail` (a record the state dropped).
    private mutating func writeDrop(
        _ reason: ReasonCode, _ facts: RecordFacts, _ line: UnsafeRawBufferPointer, _ source: SourceFile,
        _ dropped: inout ByteBuffer
    ) {
        counts[reason] += 1
        let framed = FramedLine(bytes: line, number: facts.lineNumber, length: facts.lineLength)
        detail.bytes.withUnsafeBytes {
            encoder.appendDropped(reason, detail: $0, line: framed, labels: facts.labels, source: source, to: &dropped)
        }
        detail.bytes.removeAll(keepingCapacity: true)
    }

    /// The user a valid `userId` names, added if new and counted for `audit collisions`
    /// (not when deciding again: the record was counted the first time).
    private mutating func addUser(_ named: UserFacts, _ batch: ParsedBatch) -> UInt32 {
        batch.text.withUnsafeBytes { text in
            let extID = UnsafeRawBufferPointer(rebasing: text[named.extID])
            let user = state.addUser(extID: extID, key: named.key)
            if !isRedeciding {
                state.countRecord(of: user, rawUserID: named.rawUserID.map { UnsafeRawBufferPointer(rebasing: text[$0]) })
            }
            return user
        }
    }

    /// Records a fault as a `corrupt_input` entry (not a record).
    mutating func recordFault(_ report: ReadReport, detail: String, source: SourceFile, dropped: inout ByteBuffer) {
        counts[.corruptInput] += 1
        encoder.appendFault(detail: detail, source: source, line: report.faultLine, offset: report.stage.faultOffset,
                            fragment: report.fragment, fragmentLength: report.fragmentLength, to: &dropped)
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
}

/// Tracks dropped as `not_identified` (by user) or `anonymous_only` (by anonymousId),
/// counted so that a run can say how many of them `redrive` would now accept. An
/// anonymousId is kept as the link keys of its own form and its lowercase form (what
/// the decider looks up), so that counting allocates nothing per record.
public struct WaitingTracks: Sendable {
    private var byUser: [UInt32: Int] = [:]
    private var byAnonymousID: [AnonymousKeys: Int] = [:]

    mutating func add(user: UInt32) { byUser[user, default: 0] += 1 }

    mutating func add(_ keys: AnonymousKeys) { byAnonymousID[keys, default: 0] += 1 }

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
