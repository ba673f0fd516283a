/// One row of `nudge-ingest facts`: what a record's ``RecordFacts`` say, as a line of
/// CSV that Spark, DuckDB and any CSV reader read without options beyond a header.
///
/// Every field is a number, a fixed word or hexadecimal text, so no field is ever
/// quoted and no row spans two lines (a reader may split a file at any line end).
/// Fingerprints are written as two signed 64-bit halves, the type a `long` column
/// holds. Empty means absent. The columns, in order, are ``columns``;
/// `docs/formats.md` ("Facts") gives each one's meaning.
package enum FactsRow {
    /// The layout's version, in the header's first column name: a reader refuses
    /// another.
    package static let version = 1

    /// The header, in order.
    package static let columns = [
        "line_v\(version)", "kind", "reason", "message_hi", "message_lo",
        "user_hi", "user_lo", "ext_id_hex", "raw_user_id_hex", "timestamp_valid",
        "anonymous_hi", "anonymous_lo", "email_hi", "email_lo", "previous_hi", "previous_lo",
        "exact_hi", "exact_lo", "lower_hi", "lower_lo",
    ]

    /// The header line.
    package static func appendHeader(to out: inout OutputBuffer) {
        out.append(utf8: columns.joined(separator: ","))
        out.append(0x0A)
    }

    /// Appends the row of `facts`, a record of `batch`.
    package static func append(_ facts: RecordFacts, of batch: ParsedBatch, to out: inout OutputBuffer) {
        JSONOutput.appendDecimal(facts.lineNumber, to: &out)
        var user: UserFacts?
        var timestampIsValid: Bool?
        var anonymous: Fingerprint?, email: Fingerprint?, previous: Fingerprint?
        var keys: AnonymousKeys?
        switch facts.verdict {
        case .rejected(let reason):
            out.append(",rejected,")
            out.append(utf8: reason.rawValue)
        case .dropped(let reason):
            out.append(",dropped,")
            out.append(utf8: reason.rawValue)
        case .alias(let link?):
            out.append(",alias,")
            (user, previous) = (link.user, link.previousIDKey)
        case .alias(nil):
            // Another type (page, screen, group), or an alias that links nothing: a drop
            // that changes no state.
            out.append(",dropped,")
            out.append(utf8: ReasonCode.unsupportedType.rawValue)
        case .identify(let named, let anonymousIDKey, let emailKey):
            out.append(",identify,")
            (user, anonymous, email) = (named, anonymousIDKey, emailKey)
        case .track(let named, let valid):
            out.append(",track,")
            (user, timestampIsValid) = (named, valid)
        case .anonymousTrack(let lookup, let valid):
            out.append(",anonymous_track,")
            (keys, timestampIsValid) = (lookup, valid)
        }
        appendKey(facts.messageID, to: &out)
        appendKey(user?.key, to: &out)
        batch.text.withUnsafeBytes { text in
            out.append(0x2C)
            if let user { appendHex(UnsafeRawBufferPointer(rebasing: text[user.extID]), to: &out) }
            out.append(0x2C)
            if let raw = user?.rawUserID { appendHex(UnsafeRawBufferPointer(rebasing: text[raw]), to: &out) }
        }
        out.append(0x2C)
        if let timestampIsValid { out.append(timestampIsValid ? 0x31 : 0x30) }
        appendKey(anonymous, to: &out)
        appendKey(email, to: &out)
        appendKey(previous, to: &out)
        appendKey(keys?.exact, to: &out)
        appendKey(keys?.lowercased, to: &out)
        out.append(0x0A)
    }

    /// `,high,low` as signed decimals, or `,,` when absent.
    private static func appendKey(_ key: Fingerprint?, to out: inout OutputBuffer) {
        out.append(0x2C)
        guard let key else { return out.append(0x2C) }
        JSONOutput.appendDecimal(Int(Int64(bitPattern: key.high)), to: &out)
        out.append(0x2C)
        JSONOutput.appendDecimal(Int(Int64(bitPattern: key.low)), to: &out)
    }

    private static func appendHex(_ bytes: UnsafeRawBufferPointer, to out: inout OutputBuffer) {
        out.appendUnsafe(maximum: bytes.count * 2) { to in
            let digits: StaticString = "0123456789abcdef"
            for (index, byte) in bytes.enumerated() {
                to[2 * index] = digits.utf8Start[Int(byte >> 4)]
                to[2 * index + 1] = digits.utf8Start[Int(byte & 0xF)]
            }
            return bytes.count * 2
        }
    }
}
