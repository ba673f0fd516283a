/// Tallies of what happened to records.
public struct OutcomeCounts: Sendable, Equatable {
    public var records = 0
    public var acceptedIdentify = 0
    public var acceptedTrack = 0
    /// Indexed by `ReasonCode.allCases` position.
    public var reasons = [Int](repeating: 0, count: ReasonCode.allCases.count)

    public var accepted: Int { acceptedIdentify + acceptedTrack }
    /// Records dropped (faults are not records, so `corrupt_input` is not counted).
    public var dropped: Int { records - accepted }

    public subscript(reason: ReasonCode) -> Int {
        get { reasons[reason.index] }
        set { reasons[reason.index] = newValue }
    }

    public static func + (left: OutcomeCounts, right: OutcomeCounts) -> OutcomeCounts {
        var sum = left
        sum.records += right.records
        sum.acceptedIdentify += right.acceptedIdentify
        sum.acceptedTrack += right.acceptedTrack
        for i in sum.reasons.indices { sum.reasons[i] += right.reasons[i] }
        return sum
    }

    /// What was counted between two snapshots (one input's share of the run).
    public static func - (after: OutcomeCounts, before: OutcomeCounts) -> OutcomeCounts {
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
    var index: Int {
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

/// The record stage, one record at a time: a ``RecordParser`` and a ``Decider`` on
/// the calling thread. `preview`, `redrive` and the tests use it; `run` spreads the
/// parser over workers (``ParallelRecordStage``) and keeps one decider, which gives the
/// same bytes.
public struct RecordProcessor {
    public var maxLineBytes: Int { parser.maxLineBytes }
    public internal(set) var decider: Decider
    public var counts: OutcomeCounts { decider.counts }
    private var parser: RecordParser
    private let batch = ParsedBatch()

    public init(maxLineBytes: Int, state: IdentityState = IdentityState(), isRedeciding: Bool = false) {
        parser = RecordParser(maxLineBytes: maxLineBytes)
        decider = Decider(state: state, isRedeciding: isRedeciding)
    }

    /// Decides one record and appends it to `accepted` or `dropped`.
    public mutating func process(
        _ line: FramedLine, from source: SourceFile, accepted: inout ByteBuffer, dropped: inout ByteBuffer
    ) {
        batch.removeAll()
        parser.parse(line, source: source, into: batch)
        decider.decide(batch.records[0], line: line.bytes, in: batch, source: source, accepted: &accepted, dropped: &dropped)
    }
}
