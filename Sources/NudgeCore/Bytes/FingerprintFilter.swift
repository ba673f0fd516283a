import CBytes

/// A blocked Bloom filter over fingerprints: says for sure that a fingerprint was not
/// added, or that it may have been. Each fingerprint sets `probes` bits in one 512-bit
/// block (one cache line), so a lookup touches one line of memory.
///
/// A fingerprint is already a uniform hash, so its bits are used directly: the high
/// word picks the block, nine-bit pieces of the low word pick the bits. At 10 bits a
/// fingerprint and 7 probes, about 1 % of absent fingerprints are reported as maybe
/// present. A filter of no blocks says maybe to everything.
package struct FingerprintFilter: Sendable {
    private var words: [UInt64]
    private let blockCount: UInt64
    /// Bits set per fingerprint (1–7).
    package let probes: Int

    /// Bytes the filter's bits take.
    package var memoryBytes: Int { words.count * 8 }

    /// A filter for `count` fingerprints at about `bitsPerKey` bits each; below one bit,
    /// no filter (it would say maybe to nearly everything).
    package init(count: Int, bitsPerKey: Double) {
        let blocks = Self.blocks(count: count, bitsPerKey: bitsPerKey)
        blockCount = UInt64(blocks)
        words = [UInt64](repeating: 0, count: blocks * 8)
        // k = b·ln 2 is optimal for a plain filter; one block's crowding favours a little fewer.
        probes = min(7, max(1, Int((bitsPerKey * 0.69).rounded())))
    }

    /// Bytes a filter for `count` fingerprints at `bitsPerKey` bits each takes.
    package static func memoryBytes(count: Int, bitsPerKey: Double) -> Int {
        blocks(count: count, bitsPerKey: bitsPerKey) * 64
    }

    private static func blocks(count: Int, bitsPerKey: Double) -> Int {
        bitsPerKey >= 1 && count > 0 ? max(1, Int((bitsPerKey * Double(count) / 512).rounded(.up))) : 0
    }

    @inline(__always)
    private func block(of key: Fingerprint) -> Int {
        Int(truncatingIfNeeded: key.high.multipliedFullWidth(by: blockCount).high) &* 8
    }

    package mutating func insert(_ key: Fingerprint) {
        guard blockCount > 0 else { return }
        let base = block(of: key)
        var bits = key.low >> 1  // bit 0 of `low` is always set
        words.withUnsafeMutableBufferPointer { words in
            for _ in 0..<probes {
                let bit = Int(truncatingIfNeeded: bits & 511)
                words[base + bit >> 6] |= 1 << UInt64(bit & 63)
                bits >>= 9
            }
        }
    }

    /// Starts bringing `key`'s block into the cache, for a ``mayContain(_:)`` soon after.
    @inline(__always)
    package func prefetch(_ key: Fingerprint) {
        guard blockCount > 0 else { return }
        words.withUnsafeBufferPointer { nudge_prefetch($0.baseAddress! + block(of: key)) }
    }

    /// False when `key` was never inserted; true when it may have been.
    @inline(__always)
    package func mayContain(_ key: Fingerprint) -> Bool {
        guard blockCount > 0 else { return true }
        let base = block(of: key)
        var bits = key.low >> 1
        return words.withUnsafeBufferPointer { words in
            for _ in 0..<probes {
                let bit = Int(truncatingIfNeeded: bits & 511)
                if words[base + bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
                bits >>= 9
            }
            return true
        }
    }
}
