import CZlib

/// CRC-32 (zlib's `crc32_z`): the checksum the spool's state files and ledger lines
/// carry. Here because this module alone imports zlib.
package enum CRC32 {
    /// The CRC-32 of `bytes`, continuing `crc` (0 to start).
    package static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt = 0) -> UInt {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return crc32_z(crc, base.assumingMemoryBound(to: Bytef.self), bytes.count)
    }
}
