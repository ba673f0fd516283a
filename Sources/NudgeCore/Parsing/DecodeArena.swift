/// Scratch memory for string values decoded from the current line.
///
/// The rules decode each span at most once, the spans are disjoint parts of one line,
/// and decoded bytes are never longer than their escaped form, so the line's length
/// always suffices. The buffer grows only between lines, never while pointers into it
/// are in use. Owned by one decider; never shared across threads.
final class DecodeArena {
    private var storage: UnsafeMutableRawBufferPointer
    private var used = 0

    init() {
        storage = .allocate(byteCount: 64 << 10, alignment: 8)
    }

    deinit { storage.deallocate() }

    /// Starts a new line, making room for everything it can need.
    func reset(forLineOf length: Int) {
        used = 0
        let needed = length + 64
        if needed > storage.count {
            storage.deallocate()
            storage = .allocate(byteCount: max(needed, 2 * storage.count), alignment: 8)
        }
    }

    /// The decoded bytes of a string span: the line's own bytes when it has no escapes.
    /// Valid until the next `reset`.
    func decoded(_ span: JSONSpan, in line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let content = span.content(in: line)
        guard span.hasEscapes else { return content }
        precondition(used + content.count <= storage.count, "decode arena sized below its bound")
        let out = (storage.baseAddress! + used).assumingMemoryBound(to: UInt8.self)
        let count = JSONString.decode(content, into: out)
        used += count
        return UnsafeRawBufferPointer(start: out, count: count)
    }
}
