#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the spool could not be written.
public enum SpoolError: Error, Sendable, CustomStringConvertible {
    case cannotCreate(path: String, errno: Int32)
    case cannotWrite(path: String, errno: Int32)
    case holdsEarlierRun(path: String)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let code):
            return "cannot create \(path): \(String(cString: strerror(code)))"
        case .cannotWrite(let path, let code):
            return "cannot write \(path): \(String(cString: strerror(code)))"
        case .holdsEarlierRun(let path):
            return """
                spool \(path) already holds the records of an earlier run. Continuing a spool \
                with its identity state is not supported yet: pass a new --spool directory, or \
                delete \(path)/accepted and \(path)/dropped to start over.
                """
        }
    }
}

/// Writes one run's records into `SPOOL/accepted/` and `SPOOL/dropped/`.
///
/// Records are buffered (bounded by `flushThreshold`) and written, by a
/// ``BackgroundWriter``, to hidden `.NNNNNNNN.ndjson.partial` files; `commit()` syncs them and renames them to
/// `NNNNNNNN.ndjson`, so readers of `*.ndjson` never see a half-written run. Directories
/// are created `0700` and files `0600`: the spool holds personal data.
public final class SpoolWriter {
    public let directory: String
    /// The run's file name: `NNNNNNNN.ndjson`, one more than any in the spool.
    public let fileName: String
    /// Buffered bytes are written out once a buffer holds this many.
    public let flushThreshold: Int

    var accepted: ByteBuffer
    var dropped: ByteBuffer
    private var acceptedFile: OpenFile
    private var droppedFile: OpenFile
    private let writer = BackgroundWriter()

    public init(directory: String, flushThreshold: Int = 1 << 20) throws(SpoolError) {
        self.directory = directory
        self.flushThreshold = flushThreshold
        for path in [directory, directory + "/accepted", directory + "/dropped"] {
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw .cannotCreate(path: path, errno: errno)
            }
        }
        let existing = Self.runFiles(in: directory + "/accepted") + Self.runFiles(in: directory + "/dropped")
        guard existing.isEmpty else { throw .holdsEarlierRun(path: directory) }
        fileName = String(1).leftPadded(to: 8) + ".ndjson"
        acceptedFile = try OpenFile(directory: directory + "/accepted", name: fileName)
        droppedFile = try OpenFile(directory: directory + "/dropped", name: fileName)
        accepted = ByteBuffer(capacity: flushThreshold + 64 * 1024)
        dropped = ByteBuffer(capacity: flushThreshold + 64 * 1024)
    }

    deinit {
        writer.stop()
        acceptedFile.discard()
        droppedFile.discard()
    }

    /// Writes out whichever buffer has reached the threshold.
    @inline(__always)
    func flushIfNeeded() throws(SpoolError) {
        do {
            if accepted.count >= flushThreshold { try submit(&accepted, to: &acceptedFile) }
            if dropped.count >= flushThreshold { try submit(&dropped, to: &droppedFile) }
        } catch {
            throw writeError(error)
        }
    }

    private func submit(_ buffer: inout ByteBuffer, to file: inout OpenFile) throws(BackgroundWriter.Failure) {
        file.bytesWritten += buffer.count
        try writer.submit(&buffer, to: file.descriptor)
    }

    /// The error for a failed write (called once no access to either file is under way).
    private func writeError(_ failure: BackgroundWriter.Failure) -> SpoolError {
        let file = failure.descriptor == acceptedFile.descriptor ? acceptedFile : droppedFile
        return .cannotWrite(path: file.partialPath, errno: failure.code)
    }

    /// Writes everything, syncs it, and makes the run's files visible under their
    /// final names. Both files are synced before either is renamed, so a failure leaves
    /// neither visible. A spool file that stayed empty is removed instead.
    public func commit() throws(SpoolError) {
        do {
            try submit(&accepted, to: &acceptedFile)
            try submit(&dropped, to: &droppedFile)
            try writer.drain()
        } catch {
            throw writeError(error)
        }
        try acceptedFile.sync()
        try droppedFile.sync()
        try acceptedFile.publish()
        try droppedFile.publish()
    }

    /// The `NNNNNNNN.ndjson[.gz]` files already in a spool folder.
    static func runFiles(in folder: String) -> [String] {
        guard let dir = opendir(folder) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if !name.hasPrefix("."), name.hasSuffix(".ndjson") || name.hasSuffix(".ndjson.gz") {
                names.append(name)
            }
        }
        return names.sorted()
    }
}

/// A spool file being written under a hidden temporary name.
private struct OpenFile {
    let directory: String
    let finalPath: String
    let partialPath: String
    /// Open until `sync()`; -1 after.
    var descriptor: Int32
    /// Bytes handed to the writer.
    var bytesWritten = 0
    var isPublished = false

    init(directory: String, name: String) throws(SpoolError) {
        self.directory = directory
        finalPath = directory + "/" + name
        partialPath = directory + "/." + name + ".partial"
        descriptor = open(partialPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .cannotCreate(path: partialPath, errno: errno) }
    }

    /// Makes the written bytes durable and closes the file.
    mutating func sync() throws(SpoolError) {
        if bytesWritten > 0 && fsync(descriptor) != 0 {
            throw .cannotWrite(path: partialPath, errno: errno)
        }
        close(descriptor)
        descriptor = -1
    }

    /// Renames the synced file to its final name (or removes it when empty), and syncs
    /// the directory so the rename survives a crash.
    mutating func publish() throws(SpoolError) {
        if bytesWritten == 0 {
            unlink(partialPath)
            isPublished = true
            return
        }
        guard rename(partialPath, finalPath) == 0 else { throw .cannotWrite(path: finalPath, errno: errno) }
        isPublished = true
        let dir = open(directory, O_RDONLY | O_DIRECTORY)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }

    /// Removes the partial file of a run that did not commit.
    func discard() {
        if descriptor >= 0 { close(descriptor) }
        if !isPublished { unlink(partialPath) }
    }
}
