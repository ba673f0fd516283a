import NudgeCore
import NudgeSpool

/// `nudge-ingest preview`: what `run` would decide for events against a spool's current
/// identity state, changing nothing.
///
/// The state is read without the lock (a run may be working) and kept in memory only.
/// Events given together are decided in order, each seeing what the ones before it
/// did, as in one run: an identify then a track of the same user previews the track
/// as accepted. Nothing is written to the spool.
package struct Preview: ~Copyable {
    /// One event's outcome: the record `run` would write, exactly as the spool would
    /// hold it (`accepted-record` or `dropped-record`).
    package struct Outcome: Sendable {
        package var line: Int
        package var isAccepted: Bool
        package var record: [UInt8]

        /// For a person: the decision, then the body Nudge would receive, or the
        /// reason and its detail.
        package var text: String {
            record.withUnsafeBytes { bytes in
                var members: [String: Range<Int>] = [:]
                try? JSONMembers.forEach(in: bytes, object: 0..<bytes.count) { key, value in
                    members[String(decoding: key, as: UTF8.self)] = value
                }
                let text = { (key: String) in members[key].map { String(decoding: bytes[$0], as: UTF8.self) } ?? "null" }
                let prefix = "line \(line): "
                if isAccepted {
                    let kind = DroppedRecord.string(members["kind"], in: bytes) ?? ""
                    let request = kind == "identify" ? "PUT …/identify" : "POST …/events/batch (one element)"
                    let via = DroppedRecord.string(members["resolved_via"], in: bytes).map { ", resolved via \($0)" } ?? ""
                    return prefix + "ACCEPTED \(kind)\(via) → \(request)\n  \(text("body"))"
                }
                let reason = DroppedRecord.string(members["reason"], in: bytes) ?? ""
                return prefix + "DROPPED \(reason)\n  \(DroppedRecord.string(members["detail"], in: bytes) ?? "")"
            }
        }
    }

    private var processor: RecordProcessor
    private var framer: LineFramer
    private let source: SourceFile

    /// Previews against the spool at `spool`; `sourceName` is the `source.file` the
    /// records show (`-` for standard input).
    package init(spool: String, maxLineBytes: Int = 1 << 20, sourceName: String) throws(SpoolError) {
        processor = RecordProcessor(maxLineBytes: maxLineBytes, state: try Spool.readState(directory: spool))
        framer = LineFramer(maxLineBytes: maxLineBytes)
        source = SourceFile(path: sourceName)
    }

    /// Decides one event given whole (it may span lines: a pretty-printed object).
    package mutating func decide(event: [UInt8]) -> Outcome {
        var outcome: Outcome!
        event.withUnsafeBytes { bytes in
            outcome = decide(FramedLine(bytes: bytes, number: 1, length: bytes.count))
        }
        return outcome
    }

    /// Decides the NDJSON lines of `chunk` (framed as `run` frames them); call
    /// ``finish(_:)`` after the last chunk.
    package mutating func consume(_ chunk: UnsafeRawBufferPointer, _ emit: (Outcome) -> Void) {
        var position = 0
        while let line = framer.nextLine(in: chunk, from: &position) { emit(decide(line)) }
    }

    package mutating func finish(_ emit: (Outcome) -> Void) {
        if let last = framer.finish() { emit(decide(last)) }
    }

    private mutating func decide(_ line: FramedLine) -> Outcome {
        var accepted = ByteBuffer(capacity: 4096)
        var dropped = ByteBuffer(capacity: 4096)
        processor.process(line, from: source, accepted: &accepted, dropped: &dropped)
        let isAccepted = !accepted.isEmpty
        // The record without its `\n`.
        let record = isAccepted ? accepted.withBytes { Array($0.dropLast()) } : dropped.withBytes { Array($0.dropLast()) }
        return Outcome(line: line.number, isAccepted: isAccepted, record: record)
    }
}
