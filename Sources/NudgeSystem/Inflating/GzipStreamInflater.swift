import CIsal

/// What ``InputReader`` needs of an inflate backend: the members of a gzip stream
/// inflated one input chunk at a time, and where a fault was found.
///
/// ``GzipInflater`` (zlib) and ``IsalInflater`` (ISA-L) conform and behave alike.
package protocol GzipStreamInflater: AnyObject {
    /// Inflates one chunk of compressed input, handing every run of inflated bytes to
    /// `sink` (valid only during that call).
    /// - Throws: ``GzipFault`` at corrupt data or garbage after a member; whatever `sink` throws.
    func inflate(_ input: UnsafeRawBufferPointer, into sink: (UnsafeRawBufferPointer) throws -> Void) throws
    /// Call after the last chunk.
    /// - Throws: ``GzipFault/truncated`` when the input stopped inside a member.
    func finish() throws(GzipFault)
    /// Where a fault was found, in compressed bytes from the start of the stream.
    var faultOffset: Int { get }
}
