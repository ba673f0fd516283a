/// The record stage, one record at a time: a ``RecordParser`` and a ``Decider`` on
/// the calling thread. `preview`, `redrive`, the fuzz targets and the tests use it;
/// `run` spreads the parser over workers (`ParallelRecordStage`) and keeps one decider,
/// which gives the same bytes.
package struct RecordProcessor {
    package var maxLineBytes: Int { parser.maxLineBytes }
    package var decider: Decider
    package var counts: OutcomeCounts { decider.counts }
    private var parser: RecordParser
    private let batch = ParsedBatch()

    package init(maxLineBytes: Int, state: IdentityState = IdentityState(), isRedeciding: Bool = false) {
        parser = RecordParser(maxLineBytes: maxLineBytes)
        decider = Decider(state: state, isRedeciding: isRedeciding)
    }

    /// Decides one record and appends it to `accepted` or `dropped`.
    package mutating func process(
        _ line: FramedLine, from source: SourceFile, accepted: inout ByteBuffer, dropped: inout ByteBuffer
    ) {
        batch.removeAll()
        parser.parse(line, source: source, into: batch)
        decider.decide(batch.records[0], line: line.bytes, in: batch, source: source, accepted: &accepted, dropped: &dropped)
    }

    /// Frames `chunk` with `framer` and processes each of its lines.
    package mutating func process(
        _ chunk: UnsafeRawBufferPointer, framedBy framer: inout LineFramer, from source: SourceFile,
        accepted: inout ByteBuffer, dropped: inout ByteBuffer
    ) {
        var position = 0
        while let line = framer.nextLine(in: chunk, from: &position) {
            process(line, from: source, accepted: &accepted, dropped: &dropped)
        }
    }

    /// Ends the stream `framer` framed: processes its last line, if it has one.
    package mutating func finish(
        framedBy framer: inout LineFramer, from source: SourceFile, accepted: inout ByteBuffer, dropped: inout ByteBuffer
    ) {
        if let last = framer.finish() { process(last, from: source, accepted: &accepted, dropped: &dropped) }
    }
}
