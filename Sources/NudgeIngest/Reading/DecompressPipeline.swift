import Foundation

/// Runs the decompress stage (read + inflate) of every input on its own thread, so
/// inflating overlaps with framing, scanning, deciding and writing on the caller's.
///
/// Inflated bytes travel in a fixed pool of `slotCount` buffers of `slotBytes` each
/// (16 × 256 KiB in a run, see `RunOptions`): when the caller falls behind, the
/// reading thread waits for a free buffer, so memory stays bounded whatever the input.
final class DecompressPipeline: @unchecked Sendable {
    // @unchecked Sendable: every mutable property below is read and written only while
    // `condition` is locked, except a slot's bytes, which belong to exactly one side at a
    // time: the producer between taking a slot from `free` and queueing it, the consumer
    // between `next()` returning it and `recycle(_:)`.

    /// A run of inflated bytes in one slot.
    struct Chunk {
        var slot: Int
        var count: Int
        /// File bytes of the current input read so far, for progress.
        var fileBytesRead: Int
    }

    enum Message {
        case chunk(Chunk)
        /// The input's stream ended, whole or at a fault.
        case end(DecompressReport)
    }

    private let condition = NSCondition()
    private let slots: [UnsafeMutableRawBufferPointer]
    private var free: [Int]
    private var ready: [Message] = []
    private var readyHead = 0
    private var cancelled = false

    init(slotCount: Int, slotBytes: Int) {
        slots = (0..<slotCount).map { _ in .allocate(byteCount: slotBytes, alignment: 16) }
        free = Array(0..<slotCount)
    }

    deinit {
        // The reading thread retains `self` until it returns, so it has finished here.
        for slot in slots { slot.deallocate() }
    }

    /// Starts reading `inputs` in order on a new thread.
    func start(_ inputs: [InputFile], reader: InputReader) {
        let thread = Thread { [self] in
            nameCurrentThread("ingest-inflate")
            produce(inputs, reader: reader)
        }
        thread.start()
    }

    /// The next message, waiting for one if needed.
    func next() -> Message {
        condition.lock()
        defer { condition.unlock() }
        while readyHead == ready.count { condition.wait() }
        let message = ready[readyHead]
        readyHead += 1
        if readyHead == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyHead = 0
        }
        condition.broadcast()
        return message
    }

    /// The bytes of a chunk `next()` returned, valid until it is recycled.
    func bytes(of chunk: Chunk) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: slots[chunk.slot][..<chunk.count])
    }

    /// Gives a chunk's slot back to the reading thread.
    func recycle(_ chunk: Chunk) {
        condition.lock()
        free.append(chunk.slot)
        condition.broadcast()
        condition.unlock()
    }

    /// Stops the reading thread at its next hand-off.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    private struct Cancelled: Error {}

    private func produce(_ inputs: [InputFile], reader: InputReader) {
        for input in inputs {
            var slot = -1
            var filled = 0
            var lastFileBytes = 0
            do {
                let report = try reader.decompress(input) { bytes, fileBytesRead in
                    lastFileBytes = fileBytesRead
                    var offset = 0
                    while offset < bytes.count {
                        if slot < 0 { slot = try takeFreeSlot() }
                        let room = slots[slot].count - filled
                        let n = min(room, bytes.count - offset)
                        (slots[slot].baseAddress! + filled).copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
                        filled += n
                        offset += n
                        if filled == slots[slot].count {
                            push(.chunk(Chunk(slot: slot, count: filled, fileBytesRead: fileBytesRead)))
                            slot = -1
                            filled = 0
                        }
                    }
                }
                if slot >= 0 { push(.chunk(Chunk(slot: slot, count: filled, fileBytesRead: lastFileBytes))) }
                push(.end(report))
            } catch {
                return  // cancelled: the consumer has stopped
            }
        }
    }

    private func takeFreeSlot() throws -> Int {
        condition.lock()
        defer { condition.unlock() }
        while free.isEmpty && !cancelled { condition.wait() }
        if cancelled { throw Cancelled() }
        return free.removeLast()
    }

    private func push(_ message: Message) {
        condition.lock()
        ready.append(message)
        condition.broadcast()
        condition.unlock()
    }
}

/// Names the calling thread as `top`, `ps -L` and profilers show it (Linux keeps 15 bytes).
func nameCurrentThread(_ name: String) {
    Thread.current.name = name
}
