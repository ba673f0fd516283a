/// The record stage: frames lines, parses them and decides them, writing each record to
/// the accepted or the dropped spool buffer and handing back a ``RecordDecision``.
///
/// It is two steps over a ``ParsedBatch``, which can run apart:
/// - **parse** (``RecordParser/parse(_:of:source:)``): everything that does not depend on
///   the records before, so any number of parsers may run at once, one per thread;
/// - **decide** (``Decider``): the rules that read the identity state, one record after
///   another in input order.
///
/// `run` parses its batches on worker threads and decides them on its sequencer
/// (`ParallelRecordStage`); `preview`, `redrive`, the fuzz targets and the tests drive
/// both steps on the calling thread with this type, one record at a time. Both give the
/// same bytes.
package struct RecordStage {
    package var maxLineBytes: Int { parser.maxLineBytes }
    package var decider: Decider
    package var counts: OutcomeCounts { decider.counts }
    private var parser: RecordParser
    private let batch = ParsedBatch()
    /// The one line of `batch` (kept to reuse its storage).
    private var lines: [ParsedBatch.Line] = []

    package init(maxLineBytes: Int, state: IdentityState = IdentityState(), isRedeciding: Bool = false) {
        parser = RecordParser(maxLineBytes: maxLineBytes)
        decider = Decider(state: state, isRedeciding: isRedeciding)
    }

    /// Parses and decides one line the framer handed out.
    @discardableResult
    package mutating func decide(
        _ line: FramedLine, source: SourceFile, accepted: inout OutputBuffer, dropped: inout OutputBuffer
    ) -> RecordDecision {
        decide(line.bytes, number: line.number, length: line.length, source: source,
               accepted: &accepted, dropped: &dropped)
    }

    /// Parses and decides one event given whole, not framed (it may span lines: a
    /// pretty-printed object, a dropped record's `raw`), as physical line `line`.
    @discardableResult
    package mutating func decide(
        event: UnsafeRawBufferPointer, line: Int, source: SourceFile, accepted: inout OutputBuffer,
        dropped: inout OutputBuffer
    ) -> RecordDecision {
        decide(event, number: line, length: event.count, source: source, accepted: &accepted, dropped: &dropped)
    }

    /// Frames `chunk` with `framer`, then parses and decides each of its lines.
    package mutating func decide(
        _ chunk: UnsafeRawBufferPointer, framedBy framer: inout LineFramer, source: SourceFile,
        accepted: inout OutputBuffer, dropped: inout OutputBuffer, _ decided: (RecordDecision) -> Void = { _ in }
    ) {
        var position = 0
        while let line = framer.nextLine(in: chunk, from: &position) {
            decided(decide(line, source: source, accepted: &accepted, dropped: &dropped))
        }
    }

    /// Ends the stream `framer` framed: parses and decides its last line, if it has one.
    package mutating func finish(
        framedBy framer: inout LineFramer, source: SourceFile, accepted: inout OutputBuffer,
        dropped: inout OutputBuffer, _ decided: (RecordDecision) -> Void = { _ in }
    ) {
        if let last = framer.finish() { decided(decide(last, source: source, accepted: &accepted, dropped: &dropped)) }
    }

    /// The two steps over a batch of one line.
    private mutating func decide(
        _ bytes: UnsafeRawBufferPointer, number: Int, length: Int, source: SourceFile,
        accepted: inout OutputBuffer, dropped: inout OutputBuffer
    ) -> RecordDecision {
        batch.removeAll()
        batch.lines.append(bytes)
        lines.removeAll(keepingCapacity: true)
        lines.append(ParsedBatch.Line(bytes: 0..<bytes.count, number: number, length: length))
        parser.parse(lines, of: batch, source: source)
        return batch.lines.withBytes { line in
            decider.decide(batch.records[0], line: line, in: batch, source: source, accepted: &accepted, dropped: &dropped)
        }
    }
}
