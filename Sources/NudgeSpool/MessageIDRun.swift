import NudgeCore
import NudgeSystem

/// One run of saved `messageId` fingerprints: a file in `state/message-ids/` holding
/// the ids of commits `firstCommit...lastCommit`, sorted, and in memory every 256th id
/// (the fence), so that a lookup reads at most one 4 KiB block. The filter that spares
/// most lookups the read is ``MessageIDRuns``', one for all runs.
///
/// ```
/// header   "NUDGEIDS" · u32 version (1) · u32 0 · u64 first commit · u64 last commit · u64 count
/// ids      count × 16-byte fingerprint (high, low: u64 each), strictly increasing
/// trailer  u64 length of all before · u32 CRC-32 of all before · "DONE"
/// ```
///
/// The file is named `AAAAAAAA-BBBBBBBB.ids` after its commits. Opening reads it once,
/// checking the trailer, the order and the checksum, and builds the fence; a run this
/// process has just written takes the fence its writing built.
struct MessageIDRun {
    let path: String
    let firstCommit: Int
    let lastCommit: Int
    let count: Int
    let fileBytes: Int
    private let file: FileDescriptor
    private let fence: [Fingerprint]

    static let magic: [UInt8] = Array("NUDGEIDS".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 40
    static let blockIDs = 256

    /// Memory the fence takes.
    var memoryBytes: Int { fence.count * 16 }

    static func fileName(first: Int, last: Int) -> String {
        LedgerEntry.number(first) + "-" + LedgerEntry.number(last) + ".ids"
    }

    /// `AAAAAAAA-BBBBBBBB.ids` → (A, B).
    static func commits(ofFileName name: String) -> (first: Int, last: Int)? {
        let parts = name.utf8.split(separator: UInt8(ascii: "-"))
        guard name.hasSuffix(".ids"), name.utf8.count == 21, parts.count == 2,
              let first = Int(String(decoding: parts[0], as: UTF8.self)),
              let last = Int(String(decoding: parts[1].prefix(8), as: UTF8.self)), first >= 1, first <= last
        else { return nil }
        return (first, last)
    }

    /// Opens the run at `path`, reading it whole to check it and to build its fence;
    /// `visit` sees every id, in order.
    init(path: String, visit: (Fingerprint) -> Void = { _ in }) throws(SpoolError) {
        self.path = path
        let file = try Files.open(path, for: .reading)
        do {
            var reader = try Reader(file: file, path: path)
            (firstCommit, lastCommit, count) = (reader.firstCommit, reader.lastCommit, reader.count)
            var fence: [Fingerprint] = []
            fence.reserveCapacity((reader.count + Self.blockIDs - 1) / Self.blockIDs)
            var index = 0
            while let key = try reader.next() {
                visit(key)
                if index % Self.blockIDs == 0 { fence.append(key) }
                index += 1
            }
            try reader.finish()
            (self.fence, self.fileBytes, self.file) = (fence, reader.fileBytes, file)
        } catch {
            file.close()
            throw error
        }
    }

    /// Opens the run ``write(_:first:last:count:ids:)`` has just written (and synced) at
    /// `path`, with what the writing found: no need to read it again.
    init(path: String, written: Written) throws(SpoolError) {
        self.path = path
        file = try Files.open(path, for: .reading)
        (firstCommit, lastCommit, count, fileBytes, fence) = (written.first, written.last, written.count, written.fileBytes, written.fence)
    }

    func close() { file.close() }

    /// Calls `body` with every id in order, reading the file again (and checking it).
    func forEach(_ body: (Fingerprint) -> Void) throws(SpoolError) {
        var reader = try Reader(file: file, path: path)
        while let key = try reader.next() { body(key) }
        try reader.finish()
    }

    /// Whether `key` is in the run; `block` is a buffer of at least 4 KiB to read into.
    func contains(_ key: Fingerprint, block: UnsafeMutableRawBufferPointer) -> Bool {
        // The last fence id ≤ key: its block is the only one that can hold key.
        var low = 0
        var high = fence.count
        while low < high {
            let middle = (low + high) / 2
            if Self.precedes(key, fence[middle]) { high = middle } else { low = middle + 1 }
        }
        guard low > 0 else { return false }
        let blockIndex = low - 1
        let ids = min(Self.blockIDs, count - blockIndex * Self.blockIDs)
        let offset = Self.headerBytes + blockIndex * Self.blockIDs * 16
        let wanted = UnsafeMutableRawBufferPointer(rebasing: block[..<(ids * 16)])
        // A run is read whole when opened and never changes: a failed or short read now is
        // the disk failing under a running process, which no answer would make right.
        guard let read = try? file.readFully(into: wanted, at: offset), read == ids * 16 else {
            fatalError("cannot read \(ids * 16) bytes at \(offset) of \(path), which was whole when opened")
        }
        var first = 0
        var last = ids
        while first < last {
            let middle = (first + last) / 2
            let here = Fingerprint(stored: UnsafeRawBufferPointer(wanted), at: middle * 16)
            if here == key { return true }
            if Self.precedes(here, key) { first = middle + 1 } else { last = middle }
        }
        return false
    }

    /// The run order: by the high word, then the low one, unsigned.
    @inline(__always)
    static func precedes(_ a: Fingerprint, _ b: Fingerprint) -> Bool {
        a.high != b.high ? a.high < b.high : a.low < b.low
    }


    /// What writing a run found: its commits, ids and size, and its fence.
    struct Written {
        var first: Int
        var last: Int
        var count: Int
        var fileBytes: Int
        var fence: [Fingerprint]
    }

    /// Writes a run at `path` (synced) from `next`, which gives its ids in run order.
    static func write(
        _ path: String, first: Int, last: Int, count: Int, ids next: () throws(SpoolError) -> Fingerprint?
    ) throws(SpoolError) -> Written {
        var out = try StateFile.Writer(path: path)
        defer { out.close() }
        out.append(magic)
        out.append(version)
        out.append(UInt32(0))
        out.append(UInt64(first))
        out.append(UInt64(last))
        out.append(UInt64(count))
        var fence: [Fingerprint] = []
        fence.reserveCapacity((count + blockIDs - 1) / blockIDs)
        var written = 0
        var previous: Fingerprint?
        while let key = try next() {
            if let previous { precondition(precedes(previous, key), "a run's ids are written in order, once each") }
            if written % blockIDs == 0 { fence.append(key) }
            out.append(key)
            try out.flushIfFull()
            previous = key
            written += 1
        }
        precondition(written == count, "a run holds the count its header gives")
        return Written(first: first, last: last, count: count, fileBytes: try out.finish(), fence: fence)
    }

    /// `ids` in run order. Fingerprints are uniform, so they are dealt into buckets by
    /// their top bits (about eight a bucket) and each bucket is sorted alone: a few
    /// times faster than a comparison sort of the whole.
    static func sorted(_ ids: FingerprintTable) -> [Fingerprint] {
        let count = ids.count
        let bucketBits = min(24, max(1, (Int.bitWidth - count.leadingZeroBitCount) - 3))
        let shift = UInt64(64 - bucketBits)
        var starts = [Int](repeating: 0, count: (1 << bucketBits) + 1)
        ids.withEachShardsSlots { slots in
            for key in slots where key.low != 0 { starts[Int(truncatingIfNeeded: key.high >> shift) + 1] += 1 }
        }
        for index in 1..<starts.count { starts[index] += starts[index - 1] }
        return [Fingerprint](unsafeUninitializedCapacity: count) { sorted, initialized in
            var next = starts
            ids.withEachShardsSlots { slots in
                for key in slots where key.low != 0 {
                    let bucket = Int(truncatingIfNeeded: key.high >> shift)
                    (sorted.baseAddress! + next[bucket]).initialize(to: key)
                    next[bucket] += 1
                }
            }
            initialized = count
            // Insertion sort within each bucket.
            for bucket in 0..<(1 << bucketBits) {
                let (start, end) = (starts[bucket], starts[bucket + 1])
                guard end - start > 1 else { continue }
                for i in (start + 1)..<end {
                    let key = sorted[i]
                    var j = i
                    while j > start && precedes(key, sorted[j - 1]) {
                        sorted[j] = sorted[j - 1]
                        j -= 1
                    }
                    sorted[j] = key
                }
            }
        }
    }

    /// Reads a run's ids in order, a megabyte at a time, checking its header, order,
    /// length and checksum.
    struct Reader {
        let file: FileDescriptor
        let path: String
        let firstCommit: Int
        let lastCommit: Int
        let count: Int
        let fileBytes: Int
        private var buffer: [UInt8]
        private var bufferStart = 0
        private var bufferEnd = 0
        private var offset = 0
        private var crc: UInt = 0
        private var read = 0
        private var previous: Fingerprint?

        func damaged(_ problem: String) -> SpoolError { .damaged(path: path, problem: problem) }

        init(file: FileDescriptor, path: String) throws(SpoolError) {
            (self.file, self.path) = (file, path)
            do { fileBytes = try file.status().size } catch { throw .cannotRead(path: path, error: error) }
            buffer = [UInt8](repeating: 0, count: 1 << 20)
            guard fileBytes >= MessageIDRun.headerBytes + StateFile.trailerBytes else {
                throw .damaged(path: path, problem: "it is \(fileBytes) bytes, too short to be a run of message ids (truncated?)")
            }
            let header = try Self.bytes(file, path: path, count: MessageIDRun.headerBytes, at: 0)
            guard header.starts(with: MessageIDRun.magic) else {
                throw .damaged(path: path, problem: "it is not a nudge-ingest run of message ids")
            }
            let field = { (at: Int) -> UInt64 in header.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) } }
            let version = header.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self)) }
            guard version == MessageIDRun.version else {
                throw .damaged(path: path, problem: "unknown message-id run version \(version)")
            }
            (firstCommit, lastCommit) = (Int(field(16)), Int(field(24)))
            let count = field(32)
            guard count <= UInt64(fileBytes / 16),
                  Int(count) * 16 + MessageIDRun.headerBytes + StateFile.trailerBytes == fileBytes
            else { throw .damaged(path: path, problem: "its size does not fit the \(count) ids its header gives") }
            self.count = Int(count)
            crc = header.withUnsafeBytes { CRC32.checksum($0) }
            offset = MessageIDRun.headerBytes
        }

        private static func bytes(_ file: FileDescriptor, path: String, count: Int, at offset: Int) throws(SpoolError) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: count)
            let n: Int
            do { n = try file.readFully(into: &bytes, 0..<count, at: offset) } catch {
                throw .cannotRead(path: path, error: error)
            }
            guard n == count else { throw .damaged(path: path, problem: "it ends early (truncated?)") }
            return bytes
        }

        /// The next id, or nil after the last.
        mutating func next() throws(SpoolError) -> Fingerprint? {
            guard read < count else { return nil }
            if bufferStart == bufferEnd {
                let wanted = min(buffer.count, (count - read) * 16)
                let n: Int
                do { n = try file.readFully(into: &buffer, 0..<wanted, at: offset) } catch {
                    throw .cannotRead(path: path, error: error)
                }
                guard n == wanted else { throw damaged("it ends early (truncated?)") }
                crc = buffer.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[..<wanted]), continuing: crc) }
                (bufferStart, bufferEnd) = (0, wanted)
                self.offset += wanted
            }
            let key = buffer.withUnsafeBytes { Fingerprint(stored: $0, at: bufferStart) }
            bufferStart += 16
            read += 1
            if let previous, !MessageIDRun.precedes(previous, key) { throw damaged("its ids are not in order") }
            previous = key
            return key
        }

        /// Checks the trailer once every id was read.
        func finish() throws(SpoolError) {
            let trailer = try Self.bytes(file, path: path, count: StateFile.trailerBytes, at: offset)
            try StateFile.checkTrailer(trailer, length: offset, checksum: crc, path: path)
        }
    }
}
