/// What the parallel half of the record stage learns about one record: everything the
/// contract's rules 4–13 read, none of which depends on the records before it.
///
/// This is the boundary between the part of a run that any number of workers share
/// (inflate, frame, scan, validate, extract, pre-encode) and the one sequencer that
/// applies the rules that read the identity state (rule 4's `messageId` set, rule 10's
/// links, rule 12's identified users, and the state changes of identifies and aliases),
/// record after record in input order. It holds only numbers, fingerprints and ranges
/// into its ``ParsedBatch``'s two byte buffers (`output`, the pre-encoded records, and
/// `text`, the sanitised ids), so a batch is a plain serialisable value: the same split
/// could run its parallel part on other machines. `docs/performance.md` lists the layout.
package struct RecordFacts: Sendable {
    /// The record's 1-based physical line, and the line's full length in bytes.
    package var lineNumber: Int
    package var lineLength: Int
    /// Where the line's bytes lie in the batch's `lines` (for the records the sequencer
    /// must write itself).
    package var lineBytes: Range<Int>
    /// Rule 4's key: the fingerprint of the decoded string `messageId`; nil when
    /// `messageId` is absent or not a string.
    package var messageID: Fingerprint?
    /// What rules 5–11 say without the state, and the state's part still to apply.
    package var verdict: Verdict
    /// The record as the parser expects it to end: ``Verdict/predicted``.
    package var encoded: Range<Int>
    /// For a predicted accepted track: the offset in `encoded` where its `ext_id`
    /// and, at the end, its `resolved_via` go.
    package var extIDOffset: Int = 0
    /// Where, in `encoded` (from its start), the predicted record's `body` lies (for a
    /// track, without its `ext_id`), or a predicted drop's `detail` string: what a
    /// ``RecordDecision`` points at.
    package var bodyOrDetail: Range<Int> = 0..<0
    /// The fields a dropped record names (`type`, `event`, `message_id`), and the
    /// `anonymousId` an `anonymous_only` detail quotes, as spans of the line.
    package var labels: RecordLabels

    /// The outcome of rules 1–3 and 5–11, which need no state.
    package enum Verdict: Sendable {
        /// Rules 1–3 (too long, not JSON, not an object): final; rule 4 cannot apply.
        /// `encoded` is the dropped record.
        case rejected(ReasonCode)
        /// One of rules 5–11 drops it, unless rule 4 drops it first. `encoded` is the
        /// dropped record.
        case dropped(ReasonCode)
        /// An alias: dropped as `unsupported_type`; with a valid `userId` and a
        /// non-blank `previousId`, it first links the `previousId` to that user.
        case alias(link: AliasLink?)
        /// An identify with a valid `userId`. `encoded` is the accepted record; the
        /// sequencer adds the user, marks it identified and sets its links.
        case identify(UserFacts, anonymousIDKey: Fingerprint?, emailKey: Fingerprint?)
        /// A track with a non-blank event and a valid `userId`. With a valid timestamp
        /// `encoded` is the accepted record (rule 12 still to check); without, the
        /// `invalid_timestamp` drop.
        case track(UserFacts, timestampIsValid: Bool)
        /// A track with a non-blank event, no `userId` and a non-blank `anonymousId`,
        /// by its link keys (its own form and its lowercase form). `encoded` is the
        /// accepted record with a valid timestamp, else the `invalid_timestamp` drop.
        case anonymousTrack(AnonymousKeys, timestampIsValid: Bool)
    }
}
