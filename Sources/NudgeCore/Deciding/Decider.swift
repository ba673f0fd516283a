/// The sequential half of the record stage: applies the contract's rules that read
/// the identity state (4, 10 and 12, and the state changes of identifies and aliases)
/// to records a ``RecordParser`` parsed, one after another in input order, and writes
/// each record to the accepted or the dropped spool buffer.
///
/// Most records are written as the parser pre-encoded them; the decider writes a
/// record itself only when the state changes its fate (a repeated `messageId`, a track
/// whose user is not identified, an anonymous track linked to no user, or resolved
/// through a link).
package struct Decider {
    package var state: IdentityState
    /// Deciding again a record that was decided before (`redrive`): its `messageId` was
    /// remembered then, by this very record, so rule 4 is not applied again.
    package let isRedeciding: Bool
    /// The tracks this decider dropped that a later identify or link can still make
    /// acceptable (what `redrive` would move), to tell the user when it would.
    package private(set) var waitingTracks = WaitingTracks()
    package private(set) var counts = OutcomeCounts()
    private let arena = DecodeArena()
    private var detail = DetailText(bytes: [])
    private var extID: [UInt8] = []
    private let encoder = RecordEncoder()

    package init(state: IdentityState = IdentityState(), isRedeciding: Bool = false) {
        self.state = state
        self.isRedeciding = isRedeciding
        detail.bytes.reserveCapacity(512)
    }

    /// Decides every record of `batch`, in order, taking the lines from `batch.lines`.
    package mutating func decide(_ batch: ParsedBatch, source: SourceFile, accepted: inout OutputBuffer, dropped: inout OutputBuffer) {
        batch.lines.withBytes { lines in
            let records = batch.records
            let ahead = IdentityState.prefetchDistance
            for index in records.indices {
                if !isRedeciding, index + ahead < records.endIndex, let key = records[index + ahead].messageID {
                    state.prefetchMessageID(key: key)
                }
                let facts = records[index]
                decide(facts, line: UnsafeRawBufferPointer(rebasing: lines[facts.lineBytes]), in: batch, source: source,
                       accepted: &accepted, dropped: &dropped)
            }
        }
    }

    /// Decides one record of `batch` whose line is `line`, and says what it decided.
    @discardableResult
    package mutating func decide(
        _ facts: RecordFacts, line: UnsafeRawBufferPointer, in batch: ParsedBatch, source: SourceFile,
        accepted: inout OutputBuffer, dropped: inout OutputBuffer
    ) -> RecordDecision {
        counts.records += 1
        if case .rejected(let reason) = facts.verdict {
            counts[reason] += 1
            return write(facts, batch, .dropped(reason), to: &dropped)
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
        case .rejected(let reason), .dropped(let reason):
            counts[reason] += 1
            return write(facts, batch, .dropped(reason), to: &dropped)
        case .alias(let link):
            if let link {
                let user = addUser(link.user, batch)
                state.link(key: link.previousIDKey, to: user, origin: .alias)
            }
            counts[.unsupportedType] += 1
            return write(facts, batch, .dropped(.unsupportedType), to: &dropped)
        case .identify(let named, let anonymousIDKey, let emailKey):
            let user = addUser(named, batch)
            state.markIdentified(user)
            if let anonymousIDKey { state.link(key: anonymousIDKey, to: user, origin: .anonymousID) }
            if let emailKey { state.link(key: emailKey, to: user, origin: .email) }
            counts.acceptedIdentify += 1
            return write(facts, batch, .acceptedIdentify, to: &accepted)
        case .track(let named, let timestampIsValid):
            // Rule 10: known from here on even if never identified (`audit collisions` counts its forms).
            let user = addUser(named, batch)
            return batch.text.withUnsafeBytes { text in
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
            defer { extID = linkedExtID }
            return linkedExtID.withUnsafeBytes { extID in
                decideTrack(facts, user: user, via: origin, extID: extID, timestampIsValid: timestampIsValid,
                            line, batch, source, &accepted, &dropped)
            }
        }
    }

    /// Copies the record as the parser encoded it to `out`.
    private func write(
        _ facts: RecordFacts, _ batch: ParsedBatch, _ outcome: RecordDecision.Outcome, to out: inout OutputBuffer
    ) -> RecordDecision {
        let start = out.count
        batch.output.withBytes(in: facts.encoded) { out.append($0) }
        return RecordDecision(outcome: outcome, line: facts.lineNumber, record: start..<out.count,
                              bodyOrDetail: (start + facts.bodyOrDetail.lowerBound)..<(start + facts.bodyOrDetail.upperBound))
    }

    /// Rules 11 and 12 for a track whose user is known: `user`, named `extID`.
    private mutating func decideTrack(
        _ facts: RecordFacts, user: UInt32, via origin: LinkOrigin?, extID: UnsafeRawBufferPointer,
        timestampIsValid: Bool, _ line: UnsafeRawBufferPointer, _ batch: ParsedBatch, _ source: SourceFile,
        _ accepted: inout OutputBuffer, _ dropped: inout OutputBuffer
    ) -> RecordDecision {
        // Rule 11: the parser wrote the drop.
        guard timestampIsValid else {
            counts[.invalidTimestamp] += 1
            return write(facts, batch, .dropped(.invalidTimestamp), to: &dropped)
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
        let start = accepted.count
        let body = batch.output.withBytes(in: facts.encoded) { encoded in
            let split = facts.extIDOffset
            return RecordEncoder.appendTrack(
                head: UnsafeRawBufferPointer(rebasing: encoded[..<split]),
                tail: UnsafeRawBufferPointer(rebasing: encoded[split...]),
                extID: extID, resolvedVia: origin, body: facts.bodyOrDetail, to: &accepted)
        }
        return RecordDecision(outcome: .acceptedTrack(resolvedVia: origin), line: facts.lineNumber,
                              record: start..<accepted.count, bodyOrDetail: body)
    }

    /// Writes a drop whose detail is in `detail` (a record the state dropped).
    private mutating func writeDrop(
        _ reason: ReasonCode, _ facts: RecordFacts, _ line: UnsafeRawBufferPointer, _ source: SourceFile,
        _ dropped: inout OutputBuffer
    ) -> RecordDecision {
        counts[reason] += 1
        let framed = FramedLine(bytes: line, number: facts.lineNumber, length: facts.lineLength)
        let start = dropped.count
        let detailRange = detail.bytes.withUnsafeBytes {
            encoder.appendDropped(reason, detail: $0, line: framed, labels: facts.labels, source: source, to: &dropped)
        }
        detail.bytes.removeAll(keepingCapacity: true)
        return RecordDecision(outcome: .dropped(reason), line: facts.lineNumber, record: start..<dropped.count,
                              bodyOrDetail: detailRange)
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
    /// `line` is the physical line the fault interrupted, `offset` the compressed byte
    /// offset it was found at, `fragment` a prefix of the unterminated line before it
    /// (`fragmentLength` bytes long in full).
    package mutating func recordFault(
        detail: String, line: Int, offset: Int, fragment: [UInt8], fragmentLength: Int,
        source: SourceFile, dropped: inout OutputBuffer
    ) {
        counts[.corruptInput] += 1
        encoder.appendFault(detail: detail, source: source, line: line, offset: offset,
                            fragment: fragment, fragmentLength: fragmentLength, to: &dropped)
    }

}

/// Tracks dropped as `not_identified` (by user) or `anonymous_only` (by anonymousId),
/// counted so that a run can say how many of them `redrive` would now accept. An
/// anonymousId is kept as the link keys of its own form and its lowercase form (what
/// the decider looks up), so that counting allocates nothing per record.
package struct WaitingTracks: Sendable {
    private var byUser: [UInt32: Int] = [:]
    private var byAnonymousID: [AnonymousKeys: Int] = [:]

    mutating func add(user: UInt32) { byUser[user, default: 0] += 1 }

    mutating func add(_ keys: AnonymousKeys) { byAnonymousID[keys, default: 0] += 1 }

    /// How many of them `state` accepts: their user is identified now, or their
    /// anonymousId is linked now to an identified user.
    package func acceptable(in state: IdentityState) -> Int {
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
    package func acceptsTrack(extID: UnsafeRawBufferPointer) -> Bool {
        user(extID: extID).map(isIdentified) ?? false
    }

    /// Whether a track with no `userId` and this `anonymousId` (and no other fault) is
    /// accepted now: the id, or its lowercase form, is linked to an identified user.
    package func acceptsTrack(anonymousID: UnsafeRawBufferPointer) -> Bool {
        var link = linkedUser(anonymousID)
        if link == nil { UnicodeText.withLowercased(anonymousID) { link = linkedUser($0) } }
        return link.map { isIdentified($0.user) } ?? false
    }
}
