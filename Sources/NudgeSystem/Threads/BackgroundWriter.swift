import CLinux
import NudgeCore

/// Writes filled spool buffers to their files on a thread of its own, so the thread
/// that decides records never waits in `write(2)`.
///
/// After each block the kernel is asked to start writing it to disk, without waiting
/// and without dropping it from the page cache (`sync_file_range(…,
/// SYNC_FILE_RANGE_WRITE)`), so the disk works while the pipeline does and the commit's
/// `fsync`, which alone makes the records durable (``SpoolWriter/sync()``), finds
/// little left to write. Left to itself, Linux starts writeback only past its
/// dirty-page threshold (gigabytes on a large machine), and every commit then stalled
/// the run for its whole input's output. Advising `POSIX_FADV_DONTNEED` instead, as an
/// earlier version did, also evicted the pages and cost about five times the write.
///
/// A block submitted `compressed` is deflated into one ``SpoolMember`` first, by one of
/// `compressors` threads of the writer's own, so blocks are compressed in parallel while
/// the thread that decides records goes on; the writing thread still writes every block
/// in the order it was submitted, waiting for its member where it is not ready yet.
///
/// Blocks are written in the order they were submitted, through a ``BoundedQueue`` of
/// `maxPending` blocks: a submit beyond that waits, so memory stays bounded when the
/// disk is slower than the pipeline. The first write error stops all writing (the
/// blocks queued after it are let go unwritten) and is reported by the next `submit`
/// or `drain`.
package final class BackgroundWriter: Sendable {
    /// A write that failed: the file and why.
    package struct Failure: Error {
        package var descriptor: FileDescriptor
        package var error: SystemError
    }

    /// A block of memory and, from its first submit on, the writer's to reuse.
    private struct Block: @unchecked Sendable {
        // @unchecked Sendable: raw memory that belongs to whoever holds the block: the
        // submitting thread until it is queued, then the writing thread until it is
        // back in `spare`, from which one submit at a time takes it.
        let storage: OutputBuffer.Storage
    }

    /// A block's compressed member, once a compressing thread has made it.
    private final class Member: Sendable {
        let made = ConditionLock<Block?>(nil)
    }

    private struct Job: Sendable {
        var block: Block
        var descriptor: FileDescriptor
        /// Set when the block is written as the member a compressing thread makes of it.
        var member: Member?
    }

    private struct State {
        var spare: [Block] = []
        /// Memory for members, back from the writing thread for the compressing ones.
        var spareMembers: [Block] = []
        var failure: Failure?
        var started = false
        var compressorsStarted = false
    }

    private let jobs: BoundedQueue<Job, Never>
    /// The compressed blocks, for the compressing threads (each also queued in `jobs`).
    private let toCompress: BoundedQueue<Job, Never>
    private let compressors: Int
    private let state = ConditionLock(State())

    /// A writer that holds at most `maxPending` blocks besides the one being written,
    /// and compresses on `compressors` threads (started at the first compressed block).
    package init(maxPending: Int = 3, compressors: Int = 1) {
        jobs = BoundedQueue(capacity: max(maxPending, 1))
        self.compressors = max(compressors, 1)
        toCompress = BoundedQueue(capacity: max(maxPending, 1) + self.compressors)
    }

    deinit {
        // The writing thread holds the writer until it ends, so every block is back.
        state.withLock { state in
            for block in state.spare + state.spareMembers { block.storage.deallocate() }
        }
    }

    /// Queues `buffer`'s first `prefix` bytes (all of them when nil) for writing to
    /// `descriptor`, as one ``SpoolMember`` when `compressed`, and leaves `buffer` holding
    /// the rest, in a spare block of memory (waiting while `maxPending` blocks are queued).
    package func submit(
        _ buffer: inout OutputBuffer, prefix: Int? = nil, to descriptor: FileDescriptor, compressed: Bool = false
    ) throws(Failure) {
        let prefix = prefix ?? buffer.count
        precondition(prefix >= 0 && prefix <= buffer.count)
        guard prefix > 0 else { return }
        let replacement = try state.withLock { state throws(Failure) -> Block? in
            if let failure = state.failure { throw failure }
            if !state.started {
                state.started = true
                startThread(named: "ingest-write") { [self] in run() }
            }
            if compressed && !state.compressorsStarted {
                state.compressorsStarted = true
                for _ in 0..<compressors {
                    startThread(named: "ingest-deflate") { [self] in compressAll() }
                }
            }
            return state.spare.popLast()
        }
        let storage: OutputBuffer.Storage
        if prefix < buffer.count {
            // Only the prefix goes, copied into a block its size; the buffer keeps the rest
            // (and its capacity: blocks as large as a grown buffer would all be touched).
            var block = replacement?.storage
            if let small = block, small.capacity < prefix {
                small.deallocate()
                block = nil
            }
            var copy = block ?? .allocate(capacity: prefix + (64 << 10))
            buffer.withBytes(in: 0..<prefix) { copy.base.update(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: prefix) }
            copy.count = prefix
            buffer.removeFirst(prefix)
            storage = copy
        } else {
            storage = buffer.exchangeStorage(for: replacement?.storage ?? .allocate(capacity: buffer.capacity))
        }
        let job = Job(block: Block(storage: storage), descriptor: descriptor, member: compressed ? Member() : nil)
        do {
            if compressed { try toCompress.push(job) }
            try jobs.push(job)
        } catch {
            preconditionFailure("a background writer takes no blocks once stopped")
        }
        try throwFailure()
    }

    /// Waits until everything submitted is written; throws the first write error.
    package func drain() throws(Failure) {
        jobs.waitUntilIdle()
        try throwFailure()
    }

    /// Ends the writing thread once the queue is empty, waiting for it.
    package func stop() {
        toCompress.finish()
        jobs.finish()
        jobs.waitUntilIdle()
    }

    private func throwFailure() throws(Failure) {
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    private func run() {
        while jobs.handleNext({ job in write(job) }) {}
    }

    /// A compressing thread: makes the member of each compressed block, in turn.
    private func compressAll() {
        // Compressing fills the time the parsers and the deciding thread leave idle; when
        // it falls behind, the bounded queue stops the deciding thread, and it catches up.
        _ = nudge_lower_thread_priority()
        let encoder = SpoolMemberEncoder()
        while toCompress.handleNext({ job in
            let records = job.block.storage
            let bound = SpoolMember.bound(inflatedBytes: records.count)
            let spare = state.withLock { $0.spareMembers.popLast() }
            var member: OutputBuffer.Storage
            if let spare, spare.storage.capacity >= bound {
                member = spare.storage
            } else {
                spare?.storage.deallocate()
                member = .allocate(capacity: bound)
            }
            member.count = encoder.compress(UnsafeRawBufferPointer(start: records.base, count: records.count),
                                            into: member.base)
            job.member!.made.withLock { made in
                made = Block(storage: member)
                job.member!.made.broadcast()
            }
        }) {}
    }

    private func write(_ job: Job) {
        var failure: Failure?
        // A compressed block is written as its member, once made (the block itself is
        // the compressing thread's until then).
        let member = job.member.map { member in member.made.withLock(until: { $0 != nil }) { $0! } }
        if state.withLock({ $0.failure == nil }) {
            do {
                try Self.writeAll(member?.storage ?? job.block.storage, to: job.descriptor)
            } catch {
                failure = Failure(descriptor: job.descriptor, error: error)
            }
        }
        state.withLock { state in
            state.spare.append(job.block)
            if let member { state.spareMembers.append(member) }
            state.failure = state.failure ?? failure
        }
    }

    /// Writes the whole block, then asks the kernel to start writing it to disk.
    private static func writeAll(_ block: OutputBuffer.Storage, to descriptor: FileDescriptor) throws(SystemError) {
        try descriptor.writeAll(UnsafeRawBufferPointer(start: block.base, count: block.count))
        // Best effort: where the call fails the commit's fsync writes everything.
        if let end = try? descriptor.currentOffset(), end >= block.count {
            _ = nudge_start_writeback(descriptor.rawValue, Int64(end - block.count), Int64(block.count))
        }
    }
}
