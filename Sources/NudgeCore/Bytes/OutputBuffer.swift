/// A growable byte buffer for spool output, written through a raw pointer.
///
/// The writer appends every output byte here, so appending must cost no more than a
/// bounds check and a copy: no copy-on-write uniqueness test, no generic collection
/// path. The buffer is noncopyable, which keeps exactly one owner of its memory, and
/// it grows only inside its own methods, so no pointer into it outlives an append.
package struct OutputBuffer: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    package private(set) var count = 0
    package private(set) var capacity: Int

    package init(capacity: Int = 64 << 10) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    package var isEmpty: Bool { count == 0 }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    package mutating func reserve(_ extra: Int) {
        if count &+ extra > capacity { grow(toHold: count + extra) }
    }

    @inline(never)
    private mutating func grow(toHold needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    package mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count &+= 1
    }

    @inline(__always)
    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0 else { return }
        reserve(n)
        UnsafeMutableRawPointer(base + count).copyMemory(from: bytes.baseAddress!, byteCount: n)
        count &+= n
    }

    @inline(__always)
    package mutating func append(_ literal: StaticString) {
        append(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    package mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The UTF-8 of `text` (no allocation for literals and short strings).
    package mutating func append(utf8 text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Lets `body` write at most `maximum` bytes at the end; `body` returns how many
    /// it wrote. The pointer is valid only inside `body`.
    @inline(__always)
    package mutating func appendUnsafe(maximum: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        reserve(maximum)
        let written = body(base + count)
        precondition(written <= maximum, "wrote past the reserved room")
        count &+= written
    }

    /// Drops every byte from `index` on.
    package mutating func truncate(to index: Int) {
        precondition(index >= 0 && index <= count)
        count = index
    }

    package mutating func removeAll() { count = 0 }

    /// Drops the first `n` bytes, moving the rest to the start.
    package mutating func removeFirst(_ n: Int) {
        precondition(n >= 0 && n <= count)
        UnsafeMutableRawPointer(base).copyMemory(from: base + n, byteCount: count - n)  // memmove
        count -= n
    }

    /// The bytes in `range`, valid until the next change to the buffer.
    package func withBytes<R, E: Error>(
        in range: Range<Int>? = nil, _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        let range = range ?? 0..<count
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        return try body(UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
    }

    /// Memory a buffer hands over: whoever holds it must `deallocate()` it.
    package struct Storage {
        package var base: UnsafeMutablePointer<UInt8>
        package var count: Int
        package private(set) var capacity: Int

        package static func allocate(capacity: Int) -> Storage {
            Storage(base: .allocate(capacity: capacity), count: 0, capacity: capacity)
        }

        package func deallocate() { base.deallocate() }
    }

    /// Hands the contents over, memory and all, and continues empty in `replacement`
    /// (whose own contents are discarded).
    package mutating func exchangeStorage(for replacement: Storage) -> Storage {
        let contents = Storage(base: base, count: count, capacity: capacity)
        base = replacement.base
        capacity = replacement.capacity
        count = 0
        return contents
    }

    /// A copy of the contents.
    package var bytes: [UInt8] { withBytes { Array($0) } }
}
