import NudgeCore
import NudgeSystem

/// The binary files that keep an ``IdentityState`` between runs: a snapshot of the
/// whole state, and one journal per commit with what that commit changed.
///
/// Both have the same layout (little-endian; `docs/spool.md` describes it for users):
///
/// ```
/// header   "NUDGESTA" · u32 version (1) · u32 kind (1 snapshot, 2 journal) · u64 commit
/// users    u64 first user index · u64 count · count × u32 (ext_id length | identified << 31)
///          · the ext_id bytes, one after another
/// marks    u64 count · count × u32 index of an earlier user identified since
/// messages u64 count · count × 16-byte messageId fingerprint
/// links    u64 count · count × (16-byte key fingerprint · u32 user << 2 | origin)
/// records  u64 count · count × (u32 user · u32 records that named it by a userId)
/// forms    u64 count · count × (u32 user · u32 records · u32 length · the raw userId bytes)
/// trailer  u64 length of all before · u32 CRC-32 of all before · "DONE"
/// ```
///
/// A snapshot is the changes from an empty state; loading either kind applies it to
/// the state in memory. The trailer catches truncation and the CRC any damaged byte.
package enum StateFile {
    package enum Kind: UInt32, Sendable {
        case snapshot = 1, journal = 2
    }

    static let magic: [UInt8] = Array("NUDGESTA".utf8)
    static let trailerMagic: [UInt8] = Array("DONE".utf8)
    /// Version 2 added `records` and `forms`; version 1 files (without them) still load.
    static let version: UInt32 = 2
    static let headerBytes = 24
    static let trailerBytes = 16
    static let identifiedBit: UInt32 = 1 << 31

    /// Writes what `state` changed since its last save (a journal), or all of it (a
    /// snapshot), to a new file at `path`, synced. The caller renames it into place.
    package static func write(
        _ state: IdentityState, kind: Kind, commit: Int, to path: String
    ) throws(SpoolError) -> Int {
        var out = try Writer(path: path)
        defer { out.close() }
        try encode(state, kind: kind, commit: commit, into: &out)
        return try out.finish()
    }

    /// The journal of what `state` changed since its last save, whole, in memory: what
    /// a pipelined commit writes later, on another thread, while `state` moves on.
    package static func journal(of state: IdentityState, commit: Int) -> [UInt8] {
        var out = Writer(inMemoryFor: "journal of commit \(commit)")
        // In memory nothing can fail.
        try! encode(state, kind: .journal, commit: commit, into: &out)
        _ = try! out.finish()
        return out.memory
    }

    private static func encode(
        _ state: IdentityState, kind: Kind, commit: Int, into out: inout Writer
    ) throws(SpoolError) {
        out.append(magic)
        out.append(version)
        out.append(kind.rawValue)
        out.append(UInt64(commit))

        let firstUser = kind == .snapshot ? 0 : state.savedUserCount
        let users = firstUser..<state.identified.count
        out.append(UInt64(users.lowerBound))
        out.append(UInt64(users.count))
        for user in users {
            let length = UInt32(state.extIDRange(of: user).count)
            out.append(length | (state.identified[user] ? identifiedBit : 0))
            try out.flushIfFull()
        }
        if !users.isEmpty {
            let bytes = state.extIDRange(of: users.lowerBound).lowerBound..<state.extIDBytes.count
            try out.append(large: state.extIDBytes[bytes])
        }

        if kind == .snapshot {
            out.append(UInt64(0))
            out.append(UInt64(state.messageIDs.count))
            try state.messageIDs.forEach { (key, _) throws(SpoolError) in
                out.append(key)
                try out.flushIfFull()
            }
            out.append(UInt64(state.links.count))
            try state.links.forEach { (key, packed) throws(SpoolError) in
                out.append(key)
                out.append(packed)
                try out.flushIfFull()
            }
        } else {
            out.append(UInt64(state.newlyIdentified.count))
            for user in state.newlyIdentified { out.append(user); try out.flushIfFull() }
            out.append(UInt64(state.newMessageIDs.count))
            for key in state.newMessageIDs { out.append(key); try out.flushIfFull() }
            out.append(UInt64(state.linkChanges.count))
            for change in state.linkChanges {
                out.append(change.key)
                out.append(change.packed)
                try out.flushIfFull()
            }
        }

        // Absolute counts, of every user and form in a snapshot, of those that changed in a journal.
        let countedUsers = kind == .snapshot
            ? state.userRecords.indices.filter { state.userRecords[$0] > 0 }.map(UInt32.init) : state.countedUsers
        out.append(UInt64(countedUsers.count))
        for user in countedUsers {
            out.append(user)
            out.append(state.userRecords[Int(user)])
            try out.flushIfFull()
        }
        // In the order first seen, which every run and every reload keeps.
        let forms = kind == .snapshot ? Array(0..<state.forms.count) : state.forms.changed
        out.append(UInt64(forms.count))
        for form in forms {
            let raw = state.forms.raw(form)
            out.append(state.forms.users[form])
            out.append(state.forms.counts[form])
            out.append(UInt32(raw.count))
            out.append(raw)
            try out.flushIfFull()
        }
    }

    /// Applies the file at `path` to `state`. `commit` is the commit the file must
    /// belong to (nil for a snapshot, whose commit is returned). Without `messageIDs`
    /// the file's message ids are checked but not added: saved runs hold them.
    @discardableResult
    package static func apply(
        _ path: String, kind: Kind, commit: Int?, messageIDs: Bool = true, to state: inout IdentityState
    ) throws(SpoolError) -> Int {
        let file: FileDescriptor
        do { file = try .open(path, for: .reading) } catch {
            if error == .noSuchFile { throw .damaged(path: path, problem: "the file is missing") }
            throw .cannotRead(path: path, error: error)
        }
        defer { file.close() }
        let size: Int
        do { size = try file.status().size } catch { throw .cannotRead(path: path, error: error) }
        guard size >= headerBytes + trailerBytes else {
            throw .damaged(path: path, problem: "it is \(size) bytes, too short to be a state file (truncated?)")
        }
        let mapped: MappedFile
        do { mapped = try file.mapForReading(count: size) } catch { throw .cannotRead(path: path, error: error) }
        var reader = Reader(bytes: mapped.bytes, path: path)
        return try reader.apply(kind: kind, commit: commit, messageIDs: messageIDs, to: &state)
    }

    /// One file of a spool's identity state, to load: a snapshot or a journal.
    package struct Part: Sendable {
        package var path: String
        package var kind: Kind
        package var commit: Int
        /// Whether its message ids are added (see ``apply(_:kind:commit:messageIDs:to:)``).
        package var messageIDs: Bool

        package init(path: String, kind: Kind, commit: Int, messageIDs: Bool = true) {
            (self.path, self.kind, self.commit, self.messageIDs) = (path, kind, commit, messageIDs)
        }
    }

    /// The state that `parts` (a snapshot and the journals after it, in commit order)
    /// make, applied in order. Room for every part's users is made first, at once:
    /// each part's own reservation would copy the users' arrays whole once more for
    /// every journal, and a spool of millions of users may have hundreds of journals.
    package static func load(_ parts: [Part]) throws(SpoolError) -> IdentityState {
        var state = IdentityState()
        let added = parts.compactMap { addedUsers($0.path) }.reduce((users: 0, extIDBytes: 0)) {
            ($0.users + $1.users, $0.extIDBytes + $1.extIDBytes)
        }
        state.reserveUsers(added.users, extIDBytes: added.extIDBytes)
        for part in parts {
            try apply(part.path, kind: part.kind, commit: part.commit, messageIDs: part.messageIDs, to: &state)
        }
        return state
    }

    /// How many users the file at `path` adds and the bytes of their `ext_id`s, from its
    /// header and user lengths alone (nothing is checked: ``apply(_:kind:commit:messageIDs:to:)``
    /// checks the whole file).
    static func addedUsers(_ path: String) -> (users: Int, extIDBytes: Int)? {
        guard let file = try? FileDescriptor.open(path, for: .reading) else { return nil }
        defer { file.close() }
        guard let size = try? file.status().size, size >= headerBytes + trailerBytes,
              let mapped = try? file.mapForReading(count: size) else { return nil }
        var reader = Reader(bytes: mapped.bytes, path: path)
        return try? reader.addedUsers()
    }

    /// A snapshot's links section indexed into a table on a thread of its own.
    private final class LinksLoadedAside: Sendable {
        private struct Bytes: @unchecked Sendable {
            // @unchecked: the mapped file, read-only, which the loader keeps mapped until
            // it has joined this thread (``table()``).
            let bytes: UnsafeRawBufferPointer
        }
        private let made = ConditionLock<Result<FingerprintTable, SpoolError>?>(nil)

        /// Starts indexing `links` (20 bytes each), whose users must be below `users`.
        init(links: UnsafeRawBufferPointer, users: Int, path: String) {
            let section = Bytes(bytes: links)
            startThread(named: "state-links") { [made] in
                let links = section.bytes, count = links.count / 20
                var table = FingerprintTable(minimumCapacity: max(count, 16))
                var damaged = false
                for i in 0..<count {
                    let packed = UInt32(littleEndian: links.loadUnaligned(fromByteOffset: i * 20 + 16, as: UInt32.self))
                    guard Int(packed >> 2) < users, packed & 3 != 0 else {
                        damaged = true
                        break
                    }
                    table.set(Fingerprint(stored: links, at: i * 20), to: packed)
                }
                let result: Result<FingerprintTable, SpoolError> = damaged
                    ? .failure(.damaged(path: path, problem: "a link names an unknown user or origin")) : .success(table)
                made.withLock { state in
                    state = result
                    made.broadcast()
                }
            }
        }

        /// The table (or why the section is damaged), once the thread is done.
        func table() -> Result<FingerprintTable, SpoolError> {
            made.withLock(until: { $0 != nil }) { $0! }
        }
    }

    /// The commit a snapshot at `path` holds, read from its header; nil when there is
    /// no file. The whole file is checked when it is loaded.
    static func peekCommit(_ path: String) throws(SpoolError) -> Int? {
        let file: FileDescriptor
        do { file = try .open(path, for: .reading) } catch {
            if error == .noSuchFile { return nil }
            throw .cannotRead(path: path, error: error)
        }
        defer { file.close() }
        var header = [UInt8](repeating: 0, count: headerBytes)
        let n = header.withUnsafeMutableBytes { (try? file.read(into: $0, at: 0)) ?? -1 }
        guard n == headerBytes, header.starts(with: magic) else {
            throw .damaged(path: path, problem: "its header is missing or wrong (truncated?)")
        }
        return header.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self))) }
    }

    /// Checks the trailer that ``Writer/finish()`` writes (`u64 length · u32 CRC-32 ·
    /// "DONE"`) against the `length` bytes before it, whose CRC-32 is `checksum`.
    static func checkTrailer(_ trailer: [UInt8], length: Int, checksum: UInt, path: String) throws(SpoolError) {
        let (storedLength, stored) = trailer.withUnsafeBytes { raw in
            (UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)),
             UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        }
        guard trailer.count == trailerBytes, trailer[12...].elementsEqual(trailerMagic), storedLength == UInt64(length)
        else { throw .damaged(path: path, problem: "its end marker is missing (the file was cut short or overwritten)") }
        let actual = UInt32(truncatingIfNeeded: checksum)
        guard stored == actual else {
            throw .damaged(path: path, problem: "checksum mismatch (CRC-32 \(hex(actual)), expected \(hex(stored)))")
        }
    }

    /// Appends to a new file through a buffer, keeping the running length and CRC.
    /// (A fingerprint is stored as its high and its low word, little-endian; read back by
    /// ``Fingerprint/init(stored:at:)``.)
    struct Writer: ~Copyable {
        let path: String
        private var file: FileDescriptor?
        private var buffer: OutputBuffer
        private var crc: UInt = 0
        private var written = 0
        /// Without a file, what was flushed.
        private(set) var memory: [UInt8] = []

        init(path: String) throws(SpoolError) {
            self.path = path
            file = try Files.create(path)
            buffer = OutputBuffer(capacity: 4 << 20 + 64)
        }

        /// A writer that keeps the file's bytes in ``memory``; `label` names it in errors.
        init(inMemoryFor label: String) {
            path = label
            file = nil
            buffer = OutputBuffer(capacity: 64 << 10)
        }

        mutating func append(_ bytes: [UInt8]) { buffer.append(bytes) }

        mutating func append(_ bytes: ArraySlice<UInt8>) { bytes.withUnsafeBytes { buffer.append($0) } }

        mutating func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { buffer.append($0) }
        }

        mutating func append(_ key: Fingerprint) {
            append(key.high)
            append(key.low)
        }

        /// Appends many bytes, writing them out piece by piece.
        mutating func append(large bytes: ArraySlice<UInt8>) throws(SpoolError) {
            var start = bytes.startIndex
            while start < bytes.endIndex {
                let end = min(start + (1 << 20), bytes.endIndex)
                buffer.append(Array(bytes[start..<end]))
                try flushIfFull()
                start = end
            }
        }

        mutating func flushIfFull() throws(SpoolError) {
            if buffer.count >= 4 << 20 { try flush() }
        }

        private mutating func flush() throws(SpoolError) {
            let (file, path) = (self.file, self.path)
            crc = buffer.withBytes { CRC32.checksum($0, continuing: crc) }
            if let file {
                try buffer.withBytes { (bytes) throws(SpoolError) in try Files.writeAll(file, bytes, path: path) }
            } else {
                buffer.withBytes { memory.append(contentsOf: $0) }
            }
            written += buffer.count
            buffer.removeAll()
        }

        /// Writes the trailer, syncs and closes; returns the file's size.
        mutating func finish() throws(SpoolError) -> Int {
            try flush()
            let length = written
            append(UInt64(length))
            append(UInt32(truncatingIfNeeded: crc))
            append(StateFile.trailerMagic)
            try flush()
            if let file { try Files.sync(file, path: path) }
            close()
            return written
        }

        mutating func close() {
            file?.close()
            file = nil
        }
    }

    /// Reads a mapped state file with every bound checked.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        let path: String
        var position = 0

        func damaged(_ problem: String) -> SpoolError { .damaged(path: path, problem: problem) }

        mutating func take(_ count: Int) throws(SpoolError) -> UnsafeRawBufferPointer {
            guard count >= 0, count <= bytes.count - StateFile.trailerBytes - position else {
                throw damaged("a section runs past the end of the file")
            }
            defer { position += count }
            return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
        }

        mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(SpoolError) -> T {
            T(littleEndian: try take(MemoryLayout<T>.size).loadUnaligned(as: T.self))
        }

        /// A count of items of `itemBytes` each, checked against what the file can hold.
        mutating func count(of itemBytes: Int) throws(SpoolError) -> Int {
            let count = try integer(UInt64.self)
            guard count <= UInt64(bytes.count / itemBytes) else { throw damaged("a count of \(count) items cannot fit") }
            return Int(count)
        }


        /// Reads a whole file of `kind` into `state`, section by section; returns its commit.
        mutating func apply(
            kind: Kind, commit expectedCommit: Int?, messageIDs: Bool, to state: inout IdentityState
        ) throws(SpoolError) -> Int {
            // Trailer first: a truncated or damaged file is refused before any of it is used.
            let end = try checkedEnd()
            let (version, commit) = try header(kind: kind, commit: expectedCommit)
            // A snapshot's links go into a table of their own, so they are indexed on a
            // second thread while this one reads the users (joined before the mapping goes).
            let links = kind == .snapshot && state.links.count == 0 ? try linksLoadedAside(knownUsers: state.identified.count) : nil
            defer { _ = links?.table() }
            try readUsers(into: &state)
            try readMarks(into: &state)
            try readMessageIDs(into: &state, adding: messageIDs)
            if let links {
                _ = try take(try count(of: 20) * 20)
                state.links = try links.table().get()
            } else {
                try readLinks(kind: kind, into: &state)
            }
            if version >= 2 {
                try readRecordCounts(into: &state)
                try readForms(into: &state)
            }
            guard position == end else { throw damaged("\(end - position) bytes follow the last section") }
            return commit
        }

        /// Where the sections end, once the trailer's marker, length and checksum hold.
        private func checkedEnd() throws(SpoolError) -> Int {
            let end = bytes.count - StateFile.trailerBytes
            try StateFile.checkTrailer(Array(bytes[end...]), length: end,
                                       checksum: CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[..<end])), path: path)
            return end
        }

        /// What ``StateFile/addedUsers(_:)`` reads.
        mutating func addedUsers() throws(SpoolError) -> (users: Int, extIDBytes: Int) {
            position = StateFile.headerBytes
            _ = try integer(UInt64.self)  // the first user's number
            let userCount = try count(of: 4)
            let extIDBytes = Self.extIDBytes(of: try take(userCount * 4))
            // Not yet checked: a damaged length must not make the loader reserve more
            // than the file could hold.
            guard extIDBytes <= bytes.count - position else { throw damaged("its users' lengths pass its end") }
            return (userCount, extIDBytes)
        }

        /// The bytes of the `ext_id`s whose lengths (and identified bits) are `lengths`.
        static func extIDBytes(of lengths: UnsafeRawBufferPointer) -> Int {
            var bytes = 0
            for i in 0..<lengths.count / 4 {
                bytes += Int(UInt32(littleEndian: lengths.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
                             & ~StateFile.identifiedBit)
            }
            return bytes
        }

        /// The magic, the format version, the kind and the commit.
        private mutating func header(kind: Kind, commit expectedCommit: Int?) throws(SpoolError) -> (version: UInt32, commit: Int) {
            guard try take(8).elementsEqual(StateFile.magic) else { throw damaged("it is not a nudge-ingest state file") }
            let version = try integer(UInt32.self)
            guard version == 1 || version == StateFile.version else { throw damaged("unknown state format version \(version)") }
            guard try integer(UInt32.self) == kind.rawValue else { throw damaged("it is not a \(kind) file") }
            let commit = Int(try integer(UInt64.self))
            if let expectedCommit, commit != expectedCommit {
                throw damaged("it belongs to commit \(commit), not \(expectedCommit)")
            }
            return (version, commit)
        }

        /// The users added, after those `state` knows: each one's ext_id and whether it is identified.
        private mutating func readUsers(into state: inout IdentityState) throws(SpoolError) {
            let firstUser = try integer(UInt64.self)
            guard firstUser == UInt64(state.identified.count) else {
                throw damaged("its users start at \(firstUser) but \(state.identified.count) are known")
            }
            let userCount = try count(of: 4)
            let lengths = try take(userCount * 4)
            state.reserveUsers(userCount, extIDBytes: Self.extIDBytes(of: lengths))
            var index: [(key: Fingerprint, value: UInt32)] = []
            index.reserveCapacity(userCount)
            for i in 0..<userCount {
                let word = UInt32(littleEndian: lengths.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
                let extID = try take(Int(word & ~StateFile.identifiedBit))
                let user = state.appendUnindexedUser(extID, identified: word & StateFile.identifiedBit != 0)
                index.append((IdentityKey.user(extID), user))
            }
            // Indexed all at once, in the table's slot order (users are stored in their own).
            guard state.usersByExtID.setAbsent(&index) == nil else { throw damaged("a user appears twice") }
        }

        /// Earlier users identified since.
        private mutating func readMarks(into state: inout IdentityState) throws(SpoolError) {
            let markCount = try count(of: 4)
            let marks = try take(markCount * 4)
            for i in 0..<markCount {
                let user = UInt32(littleEndian: marks.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
                guard Int(user) < state.identified.count else { throw damaged("it marks an unknown user") }
                state.identified[Int(user)] = true
            }
        }

        private mutating func readMessageIDs(into state: inout IdentityState, adding: Bool) throws(SpoolError) {
            let messageCount = try count(of: 16)
            let messages = try take(messageCount * 16)
            guard adding else { return }
            state.messageIDs.reserve(state.messageIDs.count + messageCount)
            for i in 0..<messageCount {
                _ = state.messageIDs.insert(Fingerprint(stored: messages, at: i * 16))
            }
        }

        private mutating func readLinks(kind: Kind, into state: inout IdentityState) throws(SpoolError) {
            let linkCount = try count(of: 20)
            let links = try take(linkCount * 20)
            if kind == .snapshot { state.links.reserve(linkCount) }
            for i in 0..<linkCount {
                let packed = UInt32(littleEndian: links.loadUnaligned(fromByteOffset: i * 20 + 16, as: UInt32.self))
                guard Int(packed >> 2) < state.identified.count, packed & 3 != 0 else {
                    throw damaged("a link names an unknown user or origin")
                }
                state.links.set(Fingerprint(stored: links, at: i * 20), to: packed)
            }
        }

        /// Starts indexing the links section on a thread of its own; the sections before it
        /// are stepped over (not checked: their own readers do that). `knownUsers`: the
        /// users before this file's.
        private func linksLoadedAside(knownUsers: Int) throws(SpoolError) -> LinksLoadedAside {
            var ahead = self
            _ = try ahead.integer(UInt64.self)
            let userCount = try ahead.count(of: 4)
            _ = try ahead.take(Self.extIDBytes(of: try ahead.take(userCount * 4)))
            _ = try ahead.take(try ahead.count(of: 4) * 4)
            _ = try ahead.take(try ahead.count(of: 16) * 16)
            let links = try ahead.take(try ahead.count(of: 20) * 20)
            return LinksLoadedAside(links: links, users: knownUsers + userCount, path: path)
        }

        /// Version 2: the records that named each user by a userId.
        private mutating func readRecordCounts(into state: inout IdentityState) throws(SpoolError) {
            let countCount = try count(of: 8)
            let counts = try take(countCount * 8)
            for i in 0..<countCount {
                let user = Int(UInt32(littleEndian: counts.loadUnaligned(fromByteOffset: i * 8, as: UInt32.self)))
                guard user < state.identified.count else { throw damaged("a record count names an unknown user") }
                state.userRecords[user] = UInt32(littleEndian: counts.loadUnaligned(fromByteOffset: i * 8 + 4, as: UInt32.self))
            }
        }

        /// Version 2: the raw userId forms that sanitising changed, with their records.
        private mutating func readForms(into state: inout IdentityState) throws(SpoolError) {
            let formCount = try count(of: 12)
            for _ in 0..<formCount {
                let head = try take(12)
                let user = UInt32(littleEndian: head.loadUnaligned(as: UInt32.self))
                let records = UInt32(littleEndian: head.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                let length = Int(UInt32(littleEndian: head.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
                guard Int(user) < state.identified.count else { throw damaged("a userId form names an unknown user") }
                state.forms.set(user: user, raw: try take(length), records: records)
            }
        }
    }
}
