import NudgeCore
import NudgeSpool
import NudgeSystem

/// What the decompress stage saw of one input.
package struct DecompressReport: Sendable {
    package var format: InputFormat = .plain
    /// Bytes read from the file (compressed bytes for gzip).
    package var bytes = 0
    /// Bytes after inflating.
    package var uncompressedBytes = 0
    package var end = ReadEnd.complete
    /// For a fault: the compressed byte offset where it was found.
    package var faultOffset = 0
    /// ``ContentHasher`` digest of the bytes read: what the ledger records.
    package var fingerprint = ""
}
