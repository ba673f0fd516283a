/// The parsed records of a run of lines, in line order: their facts, their
/// pre-encoded records and the bytes both refer to.
///
/// One batch is filled by one worker, then read by the sequencer; it is reused, so
/// its buffers keep their capacity (bounded by the lines a batch holds).
package final class ParsedBatch: @unchecked Sendable {
    // @unchecked Sendable: a batch belongs to one thread at a time (the pipeline hands
    // it from the reading thread to a worker to the sequencer under its lock).

    /// The lines' bytes, one after another (filled by the reading side).
    package var lines = OutputBuffer(capacity: 1 << 16)
    package internal(set) var records: [RecordFacts] = []
    /// The pre-encoded records.
    package internal(set) var output = OutputBuffer(capacity: 1 << 16)
    /// Sanitised ids and raw `userId`s the facts refer to.
    package internal(set) var text: [UInt8] = []

    package init() {}

    /// A framed line of a batch: where its bytes lie in ``lines``, its physical line
    /// number and its full length (more than its bytes when the framer cut it).
    package struct Line: Sendable {
        package var bytes: Range<Int>
        package var number: Int
        package var length: Int

        package init(bytes: Range<Int>, number: Int, length: Int) {
            self.bytes = bytes
            self.number = number
            self.length = length
        }
    }

    package func removeAll() {
        lines.removeAll()
        records.removeAll(keepingCapacity: true)
        output.removeAll()
        text.removeAll(keepingCapacity: true)
    }
}
