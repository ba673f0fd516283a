/// A 128-bit hash of a whole input's bytes, computed as they stream by: how the ledger
/// recognises an input it has committed, under its path or another.
///
/// The same multiply-mix lanes as ``Fingerprint``, fed eight bytes at a time, with the
/// length folded in at the end. Not cryptographic: it tells accidental changes apart,
/// it does not resist someone forging a collision.
package struct ContentHasher: Sendable {
    private var a: UInt64 = 0x243F_6A88_85A3_08D3
    private var b: UInt64 = 0x1319_8A2E_0370_7344
    private var length: UInt64 = 0
    /// Up to seven bytes waiting for a whole word.
    private var tail: UInt64 = 0
    private var tailCount = 0

    package init() {}

    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        length &+= UInt64(bytes.count)
        var i = 0
        let count = bytes.count
        while tailCount != 0 && i < count {
            pushTailByte(base.load(fromByteOffset: i, as: UInt8.self))
            i += 1
        }
        while i + 8 <= count {
            absorb(UInt64(littleEndian: (base + i).loadUnaligned(as: UInt64.self)))
            i += 8
        }
        while i < count {
            pushTailByte(base.load(fromByteOffset: i, as: UInt8.self))
            i += 1
        }
    }

    @inline(__always)
    private mutating func pushTailByte(_ byte: UInt8) {
        tail |= UInt64(byte) << (8 * UInt64(tailCount))
        tailCount += 1
        if tailCount == 8 {
            absorb(tail)
            tail = 0
            tailCount = 0
        }
    }

    @inline(__always)
    private mutating func absorb(_ word: UInt64) {
        a = Fingerprint.mix(a ^ word, 0xA076_1D64_78BD_642F)
        b = Fingerprint.mix(b ^ word, 0xE703_7ED1_A0B4_28DB)
    }

    /// The hash of everything fed so far, as 32 hexadecimal digits.
    package var hexDigest: String {
        var copy = self
        if copy.tailCount > 0 { copy.absorb(copy.tail ^ 0xFF << 56) }
        let high = Fingerprint.mix(copy.a ^ copy.length, 0x1D8E_4E27_C47D_124F)
        let low = Fingerprint.mix(copy.b ^ (copy.length << 1 | 1), 0x8EBC_6AF0_9C88_C6E3)
        return [high ^ (low >> 29), low ^ (high >> 31)]
            .map { String(String($0, radix: 16).leftPadded(to: 16)) }.joined()
    }
}
