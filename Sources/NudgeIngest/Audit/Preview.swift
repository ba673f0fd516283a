import NudgeCore
import NudgeSpool

/// `nudge-ingest preview`: what `run` would decide for events against a spool's current
/// identity state, changing nothing.
///
/// The state is read without the lock (a run may be working) and kept in memory only.
/// Events given together are decided in order, each seeing what the ones before it
/// did, as in one run: an identify then a track of the same user previews the track
/// as accepted. Nothing is written to the spool.
public struct Preview: ~Copyable {
    /// One event's outcome: the record stage's decision, and the record `run` would
    /// write, exactly as the spool would hold it (`accepted-record` or `dropped-record`).
    public struct Outcome: Sendable {
        /// The event's 1-based physical line in what was given (1 for ``Preview/decide(event:)``).
        public var line: Int
        package var decision: RecordDecision.Outcome
        /// The record, without its `\n`.
        public var record: [UInt8]
        /// Where in `record` an accepted record's `body` lies, or a dropped record's
        /// `detail` (a JSON string).
        package var bodyOrDetail: Range<Int>

        /// Whether `run` would accept the record (write it to the accepted spool).
        public var isAccepted: Bool { decision.isAccepted }
        /// Why the record would be dropped; nil when it would be accepted.
        public var reason: ReasonCode? {
            if case .dropped(let reason) = decision { reason } else { nil }
        }

        /// For a person: the decision, then the body Nudge would receive, or the
        /// reason and its detail.
        package var text: String {
            record.withUnsafeBytes { bytes in
                let prefix = "line \(line): "
                switch decision {
                case .acceptedIdentify:
                    return prefix + "ACCEPTED identify → PUT …/identify\n  \(String(decoding: bytes[bodyOrDetail], as: UTF8.self))"
                case .acceptedTrack(let origin):
                    let via = origin.map { ", resolved via \($0.code)" } ?? ""
                    return prefix + "ACCEPTED track\(via) → POST …/events/batch (one element)\n"
                        + "  \(String(decoding: bytes[bodyOrDetail], as: UTF8.self))"
                case .dropped(let reason):
                    let detail = JSONMembers.decodedString(bytes, bodyOrDetail) ?? []
                    return prefix + "DROPPED \(reason.rawValue)\n  \(String(decoding: detail, as: UTF8.self))"
                }
            }
        }

        /// The outcome as one JSON object: see ``write(_:to:)``.
        public var json: String {
            var out = JSONWriter()
            write(to: &out)
            return out.text
        }

        /// Writes the outcome as one JSON object (`schemas/preview-outcome.schema.json`),
        /// the shape both `preview --json` and `serve`'s `POST /v1/preview` answer with:
        /// `{"line", "would_accept", "reason", "detail", "record"}`.
        package func write(_ key: String? = nil, to out: inout JSONWriter) {
            record.withUnsafeBytes { bytes in
                out.beginObject(key)
                out.value("line", line)
                out.value("would_accept", isAccepted)
                out.value("reason", decision.reason?.rawValue)
                if isAccepted {
                    out.value("detail", nil as String?)
                } else {
                    out.json("detail", UnsafeRawBufferPointer(rebasing: bytes[bodyOrDetail]))
                }
                out.json("record", bytes)
                out.endObject()
            }
        }
    }

    private var stage: RecordStage
    private var framer: LineFramer
    private let source: SourceFile
    private var accepted = OutputBuffer(capacity: 4096)
    private var dropped = OutputBuffer(capacity: 4096)

    /// Previews against the spool at `spool`; `sourceName` is the `source.file` the
    /// records show (`-` for standard input).
    public init(spool: String, maxLineBytes: Int = 1 << 20, sourceName: String) throws(SpoolError) {
        stage = RecordStage(maxLineBytes: maxLineBytes, state: try Spool.readState(directory: spool))
        framer = LineFramer(maxLineBytes: maxLineBytes)
        source = SourceFile(path: sourceName)
    }

    /// Decides one event given whole (it may span lines: a pretty-printed object).
    public mutating func decide(event: [UInt8]) -> Outcome {
        event.withUnsafeBytes { bytes in
            outcome(stage.decide(event: bytes, line: 1, source: source, accepted: &accepted, dropped: &dropped))
        }
    }

    /// Decides the NDJSON lines of `chunk` (framed as `run` frames them); call
    /// ``finish(_:)`` after the last chunk.
    public mutating func consume(_ chunk: UnsafeRawBufferPointer, _ emit: (Outcome) -> Void) {
        var position = 0
        while let line = framer.nextLine(in: chunk, from: &position) {
            emit(outcome(stage.decide(line, source: source, accepted: &accepted, dropped: &dropped)))
        }
    }

    /// Decides the last line, when it had no `\n` at its end; call once, after the last
    /// ``consume(_:_:)``.
    public mutating func finish(_ emit: (Outcome) -> Void) {
        if let last = framer.finish() {
            emit(outcome(stage.decide(last, source: source, accepted: &accepted, dropped: &dropped)))
        }
    }

    /// The outcome of `decision`, its record taken out of the buffer it went to.
    private mutating func outcome(_ decision: RecordDecision) -> Outcome {
        defer {
            accepted.removeAll()
            dropped.removeAll()
        }
        let start = decision.record.lowerBound
        let withoutNewline = start..<(decision.record.upperBound - 1)
        let record = decision.outcome.isAccepted
            ? accepted.withBytes(in: withoutNewline) { Array($0) } : dropped.withBytes(in: withoutNewline) { Array($0) }
        return Outcome(
            line: decision.line, decision: decision.outcome, record: record,
            bodyOrDetail: (decision.bodyOrDetail.lowerBound - start)..<(decision.bodyOrDetail.upperBound - start))
    }
}
