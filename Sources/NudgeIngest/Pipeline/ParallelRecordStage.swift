import NudgeCore
import NudgeSystem

/// Reads and parses a run's inputs on every core, and hands their records to one
/// sequencer in input order.
///
/// Three kinds of thread share a fixed pool of batches:
/// - **readers** (one per input being read, at most `readers` at once) claim the
///   inputs in order, read and inflate each, frame its lines and copy them into
///   batches of about `batchBytes`;
/// - **workers** (`workers` of them) take filled batches, earliest input first, and
///   parse their records with a ``RecordParser`` each (the ``RecordStage``'s parse
///   step), so the batches of one input are parsed by several workers at once;
/// - the **sequencer**, the caller, takes each input's parsed batches in order with
///   ``next(input:)``, decides them with its ``Decider`` and gives them back with
///   ``recycle(_:)``.
///
/// Memory is the pool: `batchCount` batches, each holding at most `batchBytes` of
/// lines (or one longer line, up to the framer's limit) and their parsed records.
/// When the sequencer falls behind, readers wait for a free batch. A reader of an
/// input after the sequencer's current one may not take the last `workers + 2` free
/// batches (at least one): the current input always has enough to keep the workers
/// busy, later inputs read ahead with the rest, and the pool never deadlocks.
final class ParallelRecordStage: @unchecked Sendable {
    // @unchecked Sendable: every mutable property is read and written only while
    // `lock` is held. A batch's contents belong to one thread at a time: its
    // reader until it is published, then the worker that took it from `unparsed`
    // until it is marked parsed, then the sequencer until it is recycled.

    /// How the stage is sized.
    struct Configuration {
        var readers: Int
        var workers: Int
        var batchBytes: Int
        var batchCount: Int
        var maxLineBytes: Int

        /// `jobs` workers, as many readers (never more than the inputs), and a pool
        /// of three batches a worker plus four.
        init(jobs: Int, inputs: Int, batchBytes: Int, batchCount: Int? = nil, maxLineBytes: Int) {
            workers = max(jobs, 1)
            readers = max(min(jobs, inputs), 1)
            self.batchBytes = max(batchBytes, 1)
            self.batchCount = max(batchCount ?? 3 * workers + 4, 2)
            self.maxLineBytes = maxLineBytes
        }
    }

    /// A run of one input's framed lines, and once parsed, their records.
    final class Batch: @unchecked Sendable {
        let parsed = ParsedBatch()
        fileprivate(set) var lines: [FramedEntry] = []
        fileprivate(set) var input = 0
        /// File bytes of the input read when the batch was published, for progress.
        fileprivate(set) var fileBytesRead = 0
        /// On an input's last batch: how reading it ended.
        fileprivate(set) var end: ReadReport?
        fileprivate var isParsed = false

        fileprivate func reset(input: Int) {
            parsed.removeAll()
            lines.removeAll(keepingCapacity: true)
            self.input = input
            fileBytesRead = 0
            end = nil
            isParsed = false
        }

        fileprivate func append(_ line: FramedLine) {
            let start = parsed.lines.count
            parsed.lines.append(line.bytes)
            lines.append(FramedEntry(bytes: start..<parsed.lines.count, number: line.number, length: line.length))
        }
    }

    /// A framed line of a batch: where its bytes lie in the batch's `lines`.
    typealias FramedEntry = ParsedBatch.Line

    private struct Cancelled: Error {}

    let inputs: [InputFile]
    let sources: [SourceFile]
    private let configuration: Configuration
    private let reader: InputReader
    /// One lock; each kind of thread waits on its own condition, so a hand-off wakes
    /// only the threads it concerns.
    private let lock = WaitLock(conditions: 3)
    private static let batchFreed = 0, batchPublished = 1, batchParsed = 2
    private var free: [Batch]
    /// Per input, its published batches in order, parsed or not.
    private var published: [[Batch]]
    /// Published batches no worker has taken yet.
    private var unparsed: [Batch] = []
    private var nextInputToClaim = 0
    private var readersRunning = 0
    /// The input the sequencer is taking batches of.
    private var current = 0
    private var cancelled = false
    /// Free batches only the current input's reader may take: enough for it to keep
    /// every worker busy (one being filled, one a worker, one being decided), so that
    /// later inputs read ahead only with what is left over. At least one, so the pool
    /// cannot deadlock.
    private let reserve: Int

    init(inputs: [InputFile], reader: InputReader, configuration: Configuration) {
        self.inputs = inputs
        self.sources = inputs.map { SourceFile(path: $0.path) }
        self.reader = reader
        self.configuration = configuration
        free = (0..<configuration.batchCount).map { _ in Batch() }
        reserve = max(1, min(configuration.workers + 2, configuration.batchCount - 1))
        published = Array(repeating: [], count: inputs.count)
    }

    /// Starts the reading and parsing threads.
    func start() {
        readersRunning = configuration.readers
        for index in 0..<configuration.readers {
            startThread(named: "ingest-read-\(index)") { [self] in readInputs() }
        }
        for index in 0..<configuration.workers {
            startThread(named: "ingest-parse-\(index)") { [self] in parseBatches() }
        }
    }

    /// The next parsed batch of `input`, waiting for it. The sequencer takes inputs in
    /// order and every batch of one before the next; the batch that carries an
    /// ``Batch/end`` is an input's last.
    func next(input: Int) -> Batch {
        lock.lock()
        defer { lock.unlock() }
        if current != input {
            // The reserve now belongs to this input's reader.
            current = input
            lock.broadcast(Self.batchFreed)
        }
        while true {
            if let first = published[input].first, first.isParsed {
                published[input].removeFirst()
                return first
            }
            lock.wait(Self.batchParsed)
        }
    }

    /// Gives a batch the sequencer has decided back to the pool.
    func recycle(_ batch: Batch) {
        lock.lock()
        free.append(batch)
        // Every reader: which one may take it depends on its input.
        lock.broadcast(Self.batchFreed)
        lock.unlock()
    }

    /// Stops every thread at its next hand-off.
    func cancel() {
        lock.lock()
        cancelled = true
        lock.broadcastAll()
        lock.unlock()
    }

    // MARK: Readers

    private func readInputs() {
        defer {
            lock.lock()
            readersRunning -= 1
            // Idle workers end once no reader is left.
            if readersRunning == 0 { lock.broadcast(Self.batchPublished) }
            lock.unlock()
        }
        while let index = claimInput() {
            do {
                try read(index)
            } catch {
                return  // cancelled: the sequencer has stopped
            }
        }
    }

    private func claimInput() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard !cancelled, nextInputToClaim < inputs.count else { return nil }
        nextInputToClaim += 1
        return nextInputToClaim - 1
    }

    private func read(_ index: Int) throws {
        var framer = LineFramer(maxLineBytes: configuration.maxLineBytes)
        var batch = try takeFreeBatch(for: index)
        var fileBytesRead = 0
        func add(_ line: FramedLine) throws {
            if !batch.lines.isEmpty && batch.parsed.lines.count + line.bytes.count > configuration.batchBytes {
                batch.fileBytesRead = fileBytesRead
                publish(batch)
                batch = try takeFreeBatch(for: index)
            }
            batch.append(line)
        }
        var stage: DecompressReport
        do {
            stage = try reader.decompress(inputs[index]) { chunk, bytesRead in
                fileBytesRead = bytesRead
                var position = 0
                while let line = framer.nextLine(in: chunk, from: &position) { try add(line) }
            }
        } catch let error as Cancelled {
            throw error
        } catch {
            // The reader reports faults in its report and throws only what `add`
            // throws; should that change, the input still ends, as unreadable, with
            // the lines before kept, instead of leaving the sequencer waiting.
            stage = DecompressReport()
            stage.bytes = fileBytesRead
            stage.end = .unreadable("\(error)")
            stage.faultOffset = fileBytesRead
        }
        if stage.end == .complete, let last = framer.finish() { try add(last) }
        let report = ReadReport(stage, framer: framer)
        batch.fileBytesRead = stage.bytes
        batch.end = report
        publish(batch)
    }

    private func takeFreeBatch(for input: Int) throws -> Batch {
        lock.lock()
        defer { lock.unlock() }
        while !cancelled {
            if let batch = free.last, input == current || free.count > reserve {
                free.removeLast()
                batch.reset(input: input)
                return batch
            }
            lock.wait(Self.batchFreed)
        }
        throw Cancelled()
    }

    private func publish(_ batch: Batch) {
        lock.lock()
        published[batch.input].append(batch)
        unparsed.append(batch)
        lock.signal(Self.batchPublished)
        lock.unlock()
    }

    // MARK: Workers

    private func parseBatches() {
        var parser = RecordParser(maxLineBytes: configuration.maxLineBytes)
        while let batch = takeUnparsedBatch() {
            parser.parse(batch.lines, of: batch.parsed, source: sources[batch.input])
            lock.lock()
            batch.isParsed = true
            lock.signal(Self.batchParsed)
            lock.unlock()
        }
    }

    /// The unparsed batch of the earliest input, first published first; nil when
    /// there will be no more.
    private func takeUnparsedBatch() -> Batch? {
        lock.lock()
        defer { lock.unlock() }
        while !cancelled {
            if !unparsed.isEmpty {
                var chosen = 0
                for (position, batch) in unparsed.enumerated() where batch.input < unparsed[chosen].input {
                    chosen = position
                }
                return unparsed.remove(at: chosen)
            }
            if readersRunning == 0 { return nil }
            lock.wait(Self.batchPublished)
        }
        return nil
    }
}
