/// A 128-bit hash of a byte string: how identity state and the `messageId` set
/// remember strings without storing them.
///
/// Two independent 64-bit multiply-mix lanes; at 10⁸ keys the chance that two
/// different strings share a fingerprint is about 10⁻²³. Never all zero, so zero can
/// mark an empty slot.
package struct Fingerprint: Hashable, Sendable {
    package var high: UInt64
    package var low: UInt64

    package init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The fingerprint of `bytes` in the given key space (`domain`).
    @inline(__always)
    package init(_ bytes: UnsafeRawBufferPointer, domain: UInt64 = 0) {
        var a: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ domain
        var b: UInt64 = 0xC2B2_AE3D_27D4_EB4F &+ UInt64(bytes.count)
        var i = 0
        let count = bytes.count
        if let base = bytes.baseAddress {
            while i + 8 <= count {
                let word = (base + i).loadUnaligned(as: UInt64.self)
                a = Self.mix(a ^ word, 0xA076_1D64_78BD_642F)
                b = Self.mix(b ^ word, 0xE703_7ED1_A0B4_28DB)
                i += 8
            }
            if i < count {
                var tail: UInt64 = 0
                var shift: UInt64 = 0
                while i < count {
                    tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
                    shift += 8
                    i += 1
                }
                a = Self.mix(a ^ tail, 0x8EBC_6AF0_9C88_C6E3)
                b = Self.mix(b ^ tail, 0x5899_65CC_7537_4CC3)
            }
        }
        high = Self.mix(a ^ (b >> 29), 0x1D8E_4E27_C47D_124F)
        low = Self.mix(b ^ (a >> 31), 0xA076_1D64_78BD_642F) | 1
    }

    /// 64×64→128 multiply, folded: the core of wyhash-style mixing.
    @inline(__always)
    static func mix(_ x: UInt64, _ k: UInt64) -> UInt64 {
        let product = x.multipliedFullWidth(by: k)
        return product.high ^ product.low
    }
}
