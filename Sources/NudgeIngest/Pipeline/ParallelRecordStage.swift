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
    // @unchecked Sendable: what the threads share is in `lock`'s state and a batch's
    // `isParsed`, read and written only while `lock` is held; the rest is set in `init`
    // and only read. A batch's contents belong to one thread at a time (see ``Batch``).

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
        // @unchecked Sendable: a batch belongs to one thread at a time, handed over
        // under the stage's lock: its reader until it is published, then the worker
        // that took it from `unparsed` until it is marked parsed, then the sequencer
        // until it is recycled. `isParsed` is read and written only under the lock.
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
    /// only the threads it concerns. Not a ``BoundedQueue``: the pool is shared with a
    /// reserve for the current input, workers take the earliest input's batch first,
    /// and the sequencer takes one input's batches in the order they were read.
    private let lock: ConditionLock<Shared>
    private static let batchFreed = ConditionLock<Shared>.Condition(0)
    private static let batchPublished = ConditionLock<Shared>.Condition(1)
    private static let batchParsed = ConditionLock<Shared>.Condition(2)

    /// What the threads share, under `lock`.
    private struct Shared: Sendable {
        var free: [Batch]
        /// Per input, its published batches in order, parsed or not.
        var published: [[Batch]]
        /// Published batches no worker has taken yet.
        var unparsed: [Batch] = []
        var nextInputToClaim = 0
        var readersRunning = 0
        /// The input the sequencer is taking batches of.
        var current = 0
        var cancelled = false
    }

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
        reserve = max(1, min(configuration.workers + 2, configuration.batchCount - 1))
        lock = ConditionLock(Shared(free: (0..<configuration.batchCount).map { _ in Batch() },
                                    published: Array(repeating: [], count: inputs.count)),
                             conditions: 3)
    }

    /// Starts the reading and parsing threads.
    func start() {
        lock.withLock { $0.readersRunning = configuration.readers }
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
        lock.withLock { shared in
            if shared.current != input {
                // The reserve now belongs to this input's reader.
                shared.current = input
                lock.broadcast(Self.batchFreed)
            }
        }
        return lock.withLock(waitingOn: Self.batchParsed, until: { $0.published[input].first?.isParsed == true }) {
            $0.published[input].removeFirst()
        }
    }

    /// Gives a batch the sequencer has decided back to the pool.
    func recycle(_ batch: Batch) {
        lock.withLock { shared in
            shared.free.append(batch)
            // Every reader: which one may take it depends on its input.
            lock.broadcast(Self.batchFreed)
        }
    }

    /// Stops every thread at its next hand-off.
    func cancel() {
        lock.withLock { shared in
            shared.cancelled = true
            for condition in [Self.batchFreed, Self.batchPublished, Self.batchParsed] { lock.broadcast(condition) }
        }
    }

    // MARK: Readers

    private func readInputs() {
        defer {
            lock.withLock { shared in
                shared.readersRunning -= 1
                // Idle workers end once no reader is left.
                if shared.readersRunning == 0 { lock.broadcast(Self.batchPublished) }
            }
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
        lock.withLock { shared in
            guard !shared.cancelled, shared.nextInputToClaim < inputs.count else { return nil }
            shared.nextInputToClaim += 1
            return shared.nextInputToClaim - 1
        }
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
        let taken = lock.withLock(waitingOn: Self.batchFreed, until: { shared in
            shared.cancelled || !shared.free.isEmpty && (input == shared.current || shared.free.count > reserve)
        }) { shared in
            shared.cancelled ? nil : shared.free.removeLast()
        }
        guard let batch = taken else { throw Cancelled() }
        batch.reset(input: input)
        return batch
    }

    private func publish(_ batch: Batch) {
        lock.withLock { shared in
            shared.published[batch.input].append(batch)
            shared.unparsed.append(batch)
            lock.signal(Self.batchPublished)
        }
    }

    // MARK: Workers

    private func parseBatches() {
        var parser = RecordParser(maxLineBytes: configuration.maxLineBytes)
        while let batch = takeUnparsedBatch() {
            parser.parse(batch.lines, of: batch.parsed, source: sources[batch.input])
            lock.withLock { _ in
                batch.isParsed = true
                lock.signal(Self.batchParsed)
            }
        }
    }

    /// The unparsed batch of the earliest input, first published first; nil when
    /// there will be no more.
    private func takeUnparsedBatch() -> Batch? {
        lock.withLock(waitingOn: Self.batchPublished, until: { shared in
            shared.cancelled || !shared.unparsed.isEmpty || shared.readersRunning == 0
        }) { shared in
            guard !shared.cancelled, !shared.unparsed.isEmpty else { return nil }
            var chosen = 0
            for (position, batch) in shared.unparsed.enumerated() where batch.input < shared.unparsed[chosen].input {
                chosen = position
            }
            return shared.unparsed.remove(at: chosen)
        }
    }
}
