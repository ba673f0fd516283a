import NudgeSystem

/// A file being written under its hidden aside name, to be put in place once synced:
/// the first half of ``DurableFiles``'s protocol for a file written piece by piece (a
/// commit's records, a redrive's rewrite of a dropped file). The caller puts it in place
/// (``putInPlace()``) and syncs the folder at its protocol's step.
package struct AsideFile {
    /// Where the file goes once it is put in place.
    package let path: String
    /// Where it is written meanwhile.
    package let asidePath: String
    /// Open until ``sync()``; nil after.
    package private(set) var descriptor: FileDescriptor?
    /// Bytes written, by ``write(_:)`` and ``copy(from:bytes:)`` or by the owner of a
    /// writer it lent ``descriptor`` to.
    package var bytesWritten = 0
    private var isPutInPlace = false

    /// Creates the aside file (`0600`, truncating one an interrupted write left):
    /// at `aside`, or at ``DurableFiles/asidePath(of:)`` of `path`.
    package init(replacing path: String, aside: String? = nil) throws(SpoolError) {
        self.path = path
        asidePath = aside ?? DurableFiles.asidePath(of: path)
        descriptor = try Files.create(asidePath)
    }

    /// Appends `bytes`.
    package mutating func write(_ bytes: UnsafeRawBufferPointer) throws(SpoolError) {
        try Files.writeAll(descriptor!, bytes, path: asidePath)
        bytesWritten += bytes.count
    }

    /// Appends the first `bytes` bytes of the file at `source`.
    package mutating func copy(from source: String, bytes: Int) throws(SpoolError) {
        try Files.copy(from: source, bytes: bytes, to: descriptor!, path: asidePath)
        bytesWritten += bytes
    }

    /// Sets ``bytesWritten`` to the file's size (after a writer it lent ``descriptor`` to
    /// has written everything).
    package mutating func measureWritten() throws(SpoolError) {
        do { bytesWritten = try descriptor!.status().size } catch { throw .cannotWrite(path: asidePath, error: error) }
    }

    /// Makes what was written durable and closes the file. An empty file is not
    /// synced: its name is made durable by the folder's sync, which every protocol does
    /// before its commit point.
    package mutating func sync() throws(SpoolError) {
        if bytesWritten > 0 { try Files.sync(descriptor!, path: asidePath) }
        descriptor?.close()
        descriptor = nil
    }

    /// Renames the synced file over ``path`` (an empty one is removed instead), without
    /// syncing the folder.
    package mutating func putInPlace() throws(SpoolError) {
        if bytesWritten == 0 {
            Files.remove(asidePath)
        } else {
            try DurableFiles.putInPlace(asidePath, at: path)
        }
        isPutInPlace = true
    }

    /// Closes the file and removes it unless it was put in place (a write abandoned).
    package mutating func discard() {
        descriptor?.close()
        descriptor = nil
        if !isPutInPlace { Files.remove(asidePath) }
    }
}
