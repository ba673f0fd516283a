/// The parallel half of the record stage: everything about a record that does not
/// depend on the records before it.
///
/// For each framed line it applies rules 1–3 (length, JSON validity, an object), reads
/// what rules 5–11 say without the identity state, computes the fingerprints the
/// state is keyed by, and encodes the record as it will most likely end: accepted when
/// only the state can still drop it, dropped otherwise. A ``Decider`` then applies the
/// rules that read the state, in input order, and writes the records (see
/// ``RecordFacts``). Any number of parsers can run at once, one per thread.
package struct RecordParser {
    package let maxLineBytes: Int
    private let scanner = JSONScanner()
    private var scanned = ScannedEvent()
    private var encoder = RecordEncoder()
    private let arena = DecodeArena()
    private var detail = DetailText(bytes: [])
    /// A predicted accepted track's sanitised event name, then its ISO timestamp.
    private var derived: [UInt8] = []
    private var nameEnd = 0

    package init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
        detail.bytes.reserveCapacity(512)
    }

    /// Parses `lines`, framed lines whose bytes lie in `batch.lines`, in order, and
    /// appends their facts and pre-encoded records to `batch`: the record stage's
    /// parallel step (see ``RecordStage``).
    package mutating func parse(_ lines: [ParsedBatch.Line], of batch: ParsedBatch, source: SourceFile) {
        batch.lines.withBytes { bytes in
            for line in lines {
                let framed = FramedLine(bytes: UnsafeRawBufferPointer(rebasing: bytes[line.bytes]),
                                        number: line.number, length: line.length)
                parse(framed, at: line.bytes, source: source, into: batch)
            }
        }
    }

    /// Parses `line` (whose bytes lie at `lineBytes` of `batch.lines`, when it came
    /// from there) and appends its facts and pre-encoded record to `batch`.
    private mutating func parse(
        _ line: FramedLine, at lineBytes: Range<Int> = 0..<0, source: SourceFile, into batch: ParsedBatch
    ) {
        var facts = RecordFacts(
            lineNumber: line.number, lineLength: line.length, lineBytes: lineBytes, messageID: nil,
            verdict: .rejected(.lineTooLong), encoded: 0..<0, labels: RecordLabels())
        let start = batch.output.count
        // Rule 1.
        guard line.length <= maxLineBytes else {
            reject(.lineTooLong, "the line is \(line.length) bytes, over the limit of \(maxLineBytes) (--max-line-bytes)",
                   line, source, &facts, batch)
            return
        }
        // Rules 2 and 3.
        switch scanner.scan(line.bytes, into: &scanned) {
        case .malformed(let error):
            reject(.malformedJSON, error.detail, line, source, &facts, batch)
            return
        case .notAnObject(let kind):
            reject(.notAnObject, "the line is \(kind.article), not a JSON object", line, source, &facts, batch)
            return
        case .object:
            break
        }
        facts.labels = RecordLabels(scanned)
        arena.reset(forLineOf: line.bytes.count)
        let bytes = line.bytes
        if scanned.messageId.kind == .string {
            facts.messageID = IdentityKey.messageID(arena.decoded(scanned.messageId, in: bytes))
        }
        facts.verdict = verdict(bytes, batch)
        switch facts.verdict {
        case .identify(let user, _, _):
            let body = batch.text.withUnsafeBytes { text in
                encoder.appendIdentify(extID: UnsafeRawBufferPointer(rebasing: text[user.extID]), line: bytes,
                                       lineNumber: line.number, scanned: scanned, source: source, to: &batch.output)
            }
            facts.bodyOrDetail = (body.lowerBound - start)..<(body.upperBound - start)
        case .track(_, true), .anonymousTrack(_, true):
            derived.withUnsafeBytes { derived in
                let bodyStart = encoder.appendTrackHead(
                    name: UnsafeRawBufferPointer(rebasing: derived[..<nameEnd]), to: &batch.output)
                facts.extIDOffset = batch.output.count - start
                let bodyEnd = encoder.appendTrackTail(
                    occurredAt: UnsafeRawBufferPointer(rebasing: derived[nameEnd...]), line: bytes,
                    lineNumber: line.number, scanned: scanned, source: source, to: &batch.output)
                facts.bodyOrDetail = (bodyStart - start)..<(bodyEnd - start)
            }
        default:
            let detailRange = detail.bytes.withUnsafeBytes { text in
                encoder.appendDropped(facts.verdict.predictedDrop, detail: text, line: line, labels: facts.labels,
                                      source: source, to: &batch.output)
            }
            facts.bodyOrDetail = (detailRange.lowerBound - start)..<(detailRange.upperBound - start)
        }
        detail.bytes.removeAll(keepingCapacity: true)
        facts.encoded = start..<batch.output.count
        batch.records.append(facts)
    }

    /// Drops a record that rules 1–3 reject (rare, so its detail may be a `String`).
    private mutating func reject(
        _ reason: ReasonCode, _ text: String, _ line: FramedLine, _ source: SourceFile,
        _ facts: inout RecordFacts, _ batch: ParsedBatch
    ) {
        let start = batch.output.count
        var text = text
        let detailRange = text.withUTF8 {
            encoder.appendDropped(reason, detail: UnsafeRawBufferPointer($0), line: line, labels: nil,
                                  source: source, to: &batch.output)
        }
        facts.bodyOrDetail = (detailRange.lowerBound - start)..<(detailRange.upperBound - start)
        facts.verdict = .rejected(reason)
        facts.encoded = start..<batch.output.count
        batch.records.append(facts)
    }

    /// What rules 5–11 say of a JSON object; a drop's detail is left in `detail`.
    private mutating func verdict(_ line: UnsafeRawBufferPointer, _ batch: ParsedBatch) -> RecordFacts.Verdict {
        // Rules 5 and 6.
        guard scanned.type.kind == .string else {
            let kind = scanned.type.kind
            if kind == .absent {
                detail.append("the event has no type")
            } else {
                detail.append("type is "); detail.append(kind.article); detail.append(", not a string")
            }
            return .dropped(.missingType)
        }
        let type = arena.decoded(scanned.type, in: line)
        let isIdentify = type.equals("identify")
        guard isIdentify || type.equals("track") else {
            detail.append("type "); detail.appendQuote(of: type); detail.append(" is not identify or track")
            guard type.equals("alias"), case .valid(let user) = readUserID(line, batch),
                  let previousID = nonBlankString(scanned.previousId, line)
            else { return .alias(link: nil) }
            return .alias(link: AliasLink(user: user, previousIDKey: IdentityKey.link(previousID)))
        }

        let userID = readUserID(line, batch)
        let anonymousID = nonBlankString(scanned.anonymousId, line)
        if isIdentify {
            // Rules 7 and 8.
            guard case .valid(let user) = userID else {
                return dropForUserID(userID, hasAnonymousID: anonymousID != nil, line, what: "identify")
            }
            let emailKey = nonBlankString(scanned.traitsEmail, line).map {
                UnicodeText.withLowercased($0, IdentityKey.link)
            }
            return .identify(user, anonymousIDKey: anonymousID.map(IdentityKey.link), emailKey: emailKey)
        }

        // Rule 9.
        guard let event = nonBlankString(scanned.event, line) else {
            switch scanned.event.kind {
            case .string: detail.append("track event name is blank")
            case .absent: detail.append("track has no event name")
            default: detail.append("track event is "); detail.append(scanned.event.kind.article); detail.append(", not a string")
            }
            return .dropped(.missingEvent)
        }

        // Rule 11 is decided here, and applied after rule 10 by the sequencer.
        let timestampText = scanned.timestamp.kind == .string ? arena.decoded(scanned.timestamp, in: line) : nil
        let timestamp = timestampText.flatMap(Timestamp.parse)
        let timestampIsValid = timestamp != nil
        if let timestamp, userID.isValid || (userID.isAbsentOrBlank && anonymousID != nil) {
            // What rule 13 makes of an accepted track.
            derived.removeAll(keepingCapacity: true)
            UnicodeText.appendSanitized(event, to: &derived)
            nameEnd = derived.count
            timestamp.appendISOString(to: &derived)
        }

        // Rule 10, as far as it goes without the state.
        switch userID {
        case .valid(let user):
            if !timestampIsValid { describeInvalidTimestamp(timestampText) }
            return .track(user, timestampIsValid: timestampIsValid)
        case .invalid:
            return dropForUserID(userID, hasAnonymousID: false, line, what: "track")
        case .absentOrBlank where anonymousID == nil:
            return dropForUserID(userID, hasAnonymousID: false, line, what: "track")
        case .absentOrBlank:
            if !timestampIsValid { describeInvalidTimestamp(timestampText) }
            let keys = AnonymousKeys(exact: IdentityKey.link(anonymousID!),
                                     lowercased: UnicodeText.withLowercased(anonymousID!, IdentityKey.link))
            return .anonymousTrack(keys, timestampIsValid: timestampIsValid)
        }
    }

    private mutating func describeInvalidTimestamp(_ text: UnsafeRawBufferPointer?) {
        if let text {
            detail.append("timestamp "); detail.appendQuote(of: text); detail.append(" is not an RFC 3339 date-time")
        } else if scanned.timestamp.kind == .absent {
            detail.append("track has no timestamp")
        } else {
            detail.append("timestamp is "); detail.append(scanned.timestamp.kind.article); detail.append(", not a string")
        }
    }

    private enum UserIDReading {
        case valid(UserFacts)
        case absentOrBlank
        case invalid(JSONSpan)

        var isValid: Bool { if case .valid = self { true } else { false } }
        var isAbsentOrBlank: Bool { if case .absentOrBlank = self { true } else { false } }
    }

    /// Reads `userId` as the contract's "User id" section says; a valid one is
    /// sanitised into the batch's `text`.
    private func readUserID(_ line: UnsafeRawBufferPointer, _ batch: ParsedBatch) -> UserIDReading {
        let span = scanned.userId
        let start = batch.text.count
        let raw: UnsafeRawBufferPointer
        switch span.kind {
        case .absent, .null:
            return .absentOrBlank
        case .string:
            raw = arena.decoded(span, in: line)
            if UnicodeText.isBlank(raw) { return .absentOrBlank }
            UnicodeText.appendSanitized(raw, to: &batch.text)
        case .number where span.isInteger:
            raw = span.text(in: line)
            batch.text.appendBytes(raw)
        default:
            return .invalid(span)
        }
        let extID = start..<batch.text.count
        var user = UserFacts(key: Fingerprint(high: 0, low: 0), extID: extID, rawUserID: nil)
        let sameText = batch.text.withUnsafeBytes { text in
            let sanitized = UnsafeRawBufferPointer(rebasing: text[extID])
            user.key = IdentityKey.user(sanitized)
            return raw.equals(sanitized)
        }
        if !sameText {
            let rawStart = batch.text.count
            batch.text.appendBytes(raw)
            user.rawUserID = rawStart..<batch.text.count
        }
        return .valid(user)
    }

    private mutating func dropForUserID(
        _ reading: UserIDReading, hasAnonymousID: Bool, _ line: UnsafeRawBufferPointer, what: StaticString
    ) -> RecordFacts.Verdict {
        switch reading {
        case .invalid(let span):
            detail.append(what); detail.append(" userId "); detail.appendQuote(of: span.text(in: line), quoted: false)
            detail.append(" is "); detail.append(span.kind == .number ? "not an integer" : span.kind.article)
            detail.append(": Nudge takes a string or an integer")
            return .dropped(.invalidUserID)
        case .absentOrBlank where hasAnonymousID:
            detail.append(what); detail.append(" has an anonymousId but no userId")
            return .dropped(.anonymousOnly)
        default:
            let kind = scanned.userId.kind
            detail.append(what)
            detail.append(kind == .string ? " has a blank userId" : kind == .null ? " has a null userId" : " has no userId")
            detail.append(" and no anonymousId")
            return .dropped(.missingUserID)
        }
    }

    /// The decoded text of a string that is not blank.
    private func nonBlankString(_ span: JSONSpan, _ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard span.kind == .string else { return nil }
        let text = arena.decoded(span, in: line)
        return UnicodeText.isBlank(text) ? nil : text
    }
}

extension RecordFacts.Verdict {
    /// The reason of the drop `encoded` holds, when it holds one.
    var predictedDrop: ReasonCode {
        switch self {
        case .rejected(let reason), .dropped(let reason): reason
        case .alias: .unsupportedType
        case .track, .anonymousTrack: .invalidTimestamp
        case .identify: preconditionFailure("an identify with a valid userId is predicted accepted")
        }
    }
}
