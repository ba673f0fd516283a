/// Tallies of what happened to records.
public struct OutcomeCounts: Sendable, Equatable {
    /// Records decided: non-blank input lines (faults are not records).
    public var records = 0
    /// Records accepted as identifies.
    public var acceptedIdentify = 0
    /// Records accepted as tracks.
    public var acceptedTrack = 0
    /// Indexed by `ReasonCode.allCases` position.
    package var reasons = [Int](repeating: 0, count: ReasonCode.allCases.count)

    /// All counts zero.
    public init() {}

    /// Records accepted, identifies and tracks together.
    public var accepted: Int { acceptedIdentify + acceptedTrack }
    /// Records dropped (faults are not records, so `corrupt_input` is not counted).
    public var dropped: Int { records - accepted }

    /// Dropped-spool entries with `reason`; for `corrupt_input`, input faults (not records).
    public subscript(reason: ReasonCode) -> Int {
        get { reasons[reason.index] }
        set { reasons[reason.index] = newValue }
    }

    package static func + (left: OutcomeCounts, right: OutcomeCounts) -> OutcomeCounts {
        var sum = left
        sum.records += right.records
        sum.acceptedIdentify += right.acceptedIdentify
        sum.acceptedTrack += right.acceptedTrack
        for i in sum.reasons.indices { sum.reasons[i] += right.reasons[i] }
        return sum
    }

    /// What was counted between two snapshots (one input's share of the run).
    package static func - (after: OutcomeCounts, before: OutcomeCounts) -> OutcomeCounts {
        var delta = after
        delta.records -= before.records
        delta.acceptedIdentify -= before.acceptedIdentify
        delta.acceptedTrack -= before.acceptedTrack
        for i in delta.reasons.indices { delta.reasons[i] -= before.reasons[i] }
        return delta
    }
}

extension ReasonCode {
    /// Position in rule order.
    package var index: Int {
        switch self {
        case .lineTooLong: 0
        case .malformedJSON: 1
        case .notAnObject: 2
        case .duplicateMessageID: 3
        case .missingType: 4
        case .unsupportedType: 5
        case .missingUserID: 6
        case .anonymousOnly: 7
        case .invalidUserID: 8
        case .missingEvent: 9
        case .invalidTimestamp: 10
        case .notIdentified: 11
        case .corruptInput: 12
        }
    }
}
