import CLinux
import Foundation
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
/// Blocks are written in the order they were submitted. At most `maxPending` wait at a
/// time; a submit beyond that waits, so memory stays bounded when the disk is slower
/// than the pipeline. The first write error stops all writing and is reported by the
/// next `submit` or `drain`.
package final class BackgroundWriter: @unchecked Sendable {
    // @unchecked Sendable: the mutable properties are touched only while `condition` is
    // locked; a queued block's memory belongs to the writing thread until it is back
    // in `spare`.

    /// A write that failed: the file and why.
    package struct Failure: Error {
        package var descriptor: FileDescriptor
        package var error: SystemError
    }

    private struct Job {
        var block: ByteBuffer.Storage
        var descriptor: FileDescriptor
    }

    private let condition = NSCondition()
    private let maxPending: Int
    private var queue: [Job] = []
    private var spare: [ByteBuffer.Storage] = []
    private var writing = false
    private var failure: Failure?
    private var stopping = false
    private var started = false

    package init(maxPending: Int = 3) {
        self.maxPending = maxPending
    }

    deinit {
        for block in spare { block.deallocate() }
        for job in queue { job.block.deallocate() }
    }

    /// Queues `buffer`'s bytes for writing to `descriptor` and leaves `buffer` empty,
    /// in a spare block of memory (waiting while `maxPending` blocks are queued).
    package func submit(_ buffer: inout ByteBuffer, to descriptor: FileDescriptor) throws(Failure) {
        guard !buffer.isEmpty else { return }
        condition.lock()
        defer { condition.unlock() }
        if !started {
            started = true
            startThread(named: "ingest-write") { [self] in run() }
        }
        while queue.count >= maxPending && failure == nil { condition.wait() }
        if let failure { throw failure }
        let replacement = spare.popLast() ?? .allocate(capacity: buffer.capacity)
        queue.append(Job(block: buffer.exchangeStorage(for: replacement), descriptor: descriptor))
        condition.broadcast()
    }

    /// Waits until everything submitted is written; throws the first write error.
    package func drain() throws(Failure) {
        condition.lock()
        defer { condition.unlock() }
        while (!queue.isEmpty || writing) && failure == nil { condition.wait() }
        if let failure { throw failure }
    }

    /// Ends the writing thread once the queue is empty (or dropped after a failure).
    package func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while writing { condition.wait() }
        condition.unlock()
    }

    private func run() {
        condition.lock()
        while true {
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty || failure != nil {
                break
            }
            let job = queue.removeFirst()
            writing = true
            condition.unlock()
            let result = Result { () throws(SystemError) in try Self.writeAll(job.block, to: job.descriptor) }
            condition.lock()
            writing = false
            spare.append(job.block)
            if case .failure(let error) = result {
                failure = Failure(descriptor: job.descriptor, error: error)
            }
            condition.broadcast()
        }
        writing = false
        condition.broadcast()
        condition.unlock()
    }

    /// Writes the whole block, then asks the kernel to start writing it to disk.
    private static func writeAll(_ block: ByteBuffer.Storage, to descriptor: FileDescriptor) throws(SystemError) {
        try descriptor.writeAll(UnsafeRawBufferPointer(start: block.base, count: block.count))
        // Best effort: where the call fails the commit's fsync writes everything.
        if let end = try? descriptor.currentOffset(), end >= block.count {
            _ = nudge_start_writeback(descriptor.rawValue, Int64(end - block.count), Int64(block.count))
        }
    }
}
