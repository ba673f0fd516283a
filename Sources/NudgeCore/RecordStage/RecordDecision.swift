/// What the record stage decided for one record, and where it wrote the record.
///
/// The ranges point into the buffer the record went to (the accepted one or the
/// dropped one), so a driver reads what it shows from the written record itself,
/// without parsing it again.
package struct RecordDecision: Sendable, Equatable {
    /// The record's fate.
    package enum Outcome: Sendable, Equatable {
        /// An accepted identify.
        case acceptedIdentify
        /// An accepted track, with how its user was found when it had no `userId`.
        case acceptedTrack(resolvedVia: LinkOrigin?)
        /// Dropped, for this reason.
        case dropped(ReasonCode)

        package var isAccepted: Bool {
            if case .dropped = self { false } else { true }
        }

        /// The drop's reason; nil when accepted.
        package var reason: ReasonCode? {
            if case .dropped(let reason) = self { reason } else { nil }
        }
    }

    package var outcome: Outcome
    /// The record's 1-based physical line.
    package var line: Int
    /// The record, its `\n` included.
    package var record: Range<Int>
    /// An accepted record's `body` object, or a dropped record's `detail` (a JSON
    /// string, its quotes included).
    package var bodyOrDetail: Range<Int>

    package init(outcome: Outcome, line: Int, record: Range<Int>, bodyOrDetail: Range<Int>) {
        self.outcome = outcome
        self.line = line
        self.record = record
        self.bodyOrDetail = bodyOrDetail
    }
}
