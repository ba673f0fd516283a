import NudgeCore

extension Fingerprint {
    /// The fingerprint stored at `offset` of a state file or a run: its high word, then
    /// its low word, each little-endian (as ``StateFile`` writes it).
    @inline(__always)
    init(stored bytes: UnsafeRawBufferPointer, at offset: Int) {
        self.init(high: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
                  low: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)))
    }
}
