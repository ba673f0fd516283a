extension Array where Element == UInt8 {
    /// Appends raw bytes with one `memcpy`. `append(contentsOf:)` given an
    /// `UnsafeRawBufferPointer` takes the generic element-by-element path instead.
    @inline(__always)
    mutating func appendBytes(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: bytes.count))
    }
}

extension UnsafeRawBufferPointer {
    /// Byte equality with a literal.
    @inline(__always)
    package func equals(_ literal: StaticString) -> Bool {
        equals(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Byte equality with other bytes, eight at a time. (The keys and values compared
    /// are short, so this beats a call to `memcmp`, which the core, free of C, lacks.)
    @inline(__always)
    func equals(_ other: UnsafeRawBufferPointer) -> Bool {
        guard count == other.count else { return false }
        guard count > 0 else { return true }
        let a = baseAddress!, b = other.baseAddress!
        var i = 0
        while i &+ 8 <= count {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i &+= 8
        }
        while i < count {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            i &+= 1
        }
        return true
    }
}
