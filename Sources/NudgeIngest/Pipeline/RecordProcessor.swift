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

    static func + (left: OutcomeCounts, right: OutcomeCounts) -> OutcomeCounts {
        var sum = left
        sum.records += right.records
        sum.acceptedIdentify += right.acceptedIdentify
        sum.acceptedTrack += right.acceptedTrack
        for i in sum.reasons.indices { sum.reasons[i] += right.reasons[i] }
        return sum
    }

    /// What was counted between two snapshots (one input's share of the run).
    static func - (after: OutcomeCounts, before: OutcomeCounts) -> OutcomeCounts {
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

/// The decide-and-write stage: takes framed lines, applies rules 1–13, and appends
/// each record to the accepted or dropped buffer of the spool.
public struct RecordProcessor {
    public let maxLineBytes: Int
    public internal(set) var decider: Decider
    public private(set) var counts = OutcomeCounts()
    private let scanner = JSONScanner()
    private var scanned = ScannedEvent()
    private var encoder = RecordEncoder()

    public init(maxLineBytes: Int, state: IdentityState = IdentityState(), isRedeciding: Bool = false) {
        self.maxLineBytes = maxLineBytes
        self.decider = Decider(state: state, isRedeciding: isRedeciding)
    }

    /// Decides one record and appends it to `accepted` or `dropped`.
    public mutating func process(
        _ line: FramedLine, from source: SourceFile, accepted: inout ByteBuffer, dropped: inout ByteBuffer
    ) {
        counts.records += 1
        // Rule 1.
        guard line.length <= maxLineBytes else {
            drop(.lineTooLong, "the line is \(line.length) bytes, over the limit of \(maxLineBytes) (--max-line-bytes)",
                 line, source, &dropped)
            return
        }
        // Rules 2 and 3.
        switch scanner.scan(line.bytes, into: &scanned) {
        case .malformed(let error):
            drop(.malformedJSON, error.detail, line, source, &dropped)
        case .notAnObject(let kind):
            drop(.notAnObject, "the line is \(kind.article), not a JSON object", line, source, &dropped)
        case .object:
            // Rules 4–13.
            let decision = decider.decide(line.bytes, scanned)
            switch decision {
            case .drop(let reason, let detail):
                counts[reason] += 1
                decider.derived.withUnsafeBytes {
                    encoder.appendDropped(reason, detail: UnsafeRawBufferPointer(rebasing: $0[detail]), line: line,
                                          scanned: scanned, source: source, to: &dropped)
                }
            case .identify, .track:
                if case .identify = decision { counts.acceptedIdentify += 1 } else { counts.acceptedTrack += 1 }
                encoder.appendAccepted(decision, line: line.bytes, lineNumber: line.number, scanned: scanned,
                                       derived: decider.derived, source: source, to: &accepted)
            }
        }
    }

    /// Drops a record that rules 1–3 reject (rare, so its detail may be a `String`).
    private mutating func drop(
        _ reason: ReasonCode, _ detail: String, _ line: FramedLine, _ source: SourceFile,
        _ dropped: inout ByteBuffer
    ) {
        counts[reason] += 1
        var detail = detail
        detail.withUTF8 {
            encoder.appendDropped(reason, detail: UnsafeRawBufferPointer($0), line: line, scanned: nil,
                                  source: source, to: &dropped)
        }
    }

    /// Records a fault as a `corrupt_input` entry (not a record).
    mutating func recordFault(_ report: ReadReport, detail: String, source: SourceFile, dropped: inout ByteBuffer) {
        counts[.corruptInput] += 1
        encoder.appendFault(detail: detail, source: source, line: report.faultLine, offset: report.stage.faultOffset,
                            fragment: report.fragment, fragmentLength: report.fragmentLength, to: &dropped)
    }
}
