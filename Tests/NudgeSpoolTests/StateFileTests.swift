import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeSpool
@testable import NudgeSystem

/// The identity state's files, in process: saving and loading give back the same
/// answers, by snapshot or by journals, and the content hash does not depend on how
/// the bytes are cut.
@Suite struct StateFileTests {
    /// The sharded table keeps every key through many growths, tells present from
    /// absent, and stays within its stated 21–43 bytes a key as a set.
    @Test func aFingerprintTableKeepsEveryKeyAsItsShardsGrow() {
        var random = SystemRandomNumberGenerator()
        let keys = (0..<200_000).map { _ in Fingerprint(high: random.next(), low: random.next() | 1) }
        var set = FingerprintTable(minimumCapacity: 16, storesValues: false)
        var map = FingerprintTable(minimumCapacity: 16)
        var wasPresent = 0
        for (index, key) in keys.enumerated() {
            if set.insert(key) { wasPresent += 1 }
            if map.set(key, to: UInt32(index)) != nil { wasPresent += 1 }
        }
        #expect(wasPresent == 0)
        #expect(set.count == keys.count && map.count == keys.count)
        var again = 0
        for key in keys where set.insert(key) { again += 1 }
        #expect(again == keys.count && set.count == keys.count)
        #expect(keys.indices.allSatisfy { map.value(for: keys[$0]) == UInt32($0) })
        #expect(map.value(for: Fingerprint(high: 1, low: 3)) == nil)
        #expect((21 * keys.count...43 * keys.count).contains(set.memoryBytes))
        var seen = 0
        set.forEach { _, _ in seen += 1 }
        #expect(seen == keys.count)
    }

    /// Storing many absent keys at once (what loading a state file's users does) gives
    /// the table that storing them one by one gives, for a few keys (stored one by one)
    /// and for many (dealt into buckets first), into an empty table and one that holds
    /// keys already; a key already present is reported, never stored twice.
    @Test(arguments: [100, 5_000, 300_000])
    func storingAbsentKeysAtOnceEqualsStoringThemOneByOne(count: Int) {
        var random = SeededGenerator(seed: UInt64(count))
        let earlier = (0..<1_000).map { _ in Fingerprint(high: random.next(), low: random.next() | 1) }
        let keys = (0..<count).map { _ in Fingerprint(high: random.next(), low: random.next() | 1) }
        var table = FingerprintTable(minimumCapacity: 16)
        for (index, key) in earlier.enumerated() { table.set(key, to: UInt32(index)) }
        let entries = keys.enumerated().map { (key: $1, value: UInt32(earlier.count + $0)) }
        var dealt = entries
        #expect(table.setAbsent(&dealt) == nil)
        // Reordered in place, every entry kept.
        #expect(dealt.count == entries.count && Set(dealt.map(\.value)) == Set(entries.map(\.value)))
        #expect(table.count == earlier.count + keys.count)
        #expect(earlier.indices.allSatisfy { table.value(for: earlier[$0]) == UInt32($0) })
        #expect(keys.indices.allSatisfy { table.value(for: keys[$0]) == UInt32(earlier.count + $0) })
        var twice = FingerprintTable(minimumCapacity: 16)
        var repeated = entries + [(key: keys[count / 2], value: 7)]
        #expect(twice.setAbsent(&repeated) == keys[count / 2])
    }

    /// A state built by random identifies, tracks and links, with what it should answer.
    struct Scenario {
        var state = IdentityState(initialCapacity: 64)
        var extIDs: [String] = []
        var identified: Set<String> = []
        var links: [String: (String, LinkOrigin)] = [:]
        var messageIDs: [String] = []
        var generator: SeededGenerator

        init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

        mutating func step() {
            let extID = "user-\(Int.random(in: 0..<400, using: &generator))é"
            let user = extID.withBytes { state.addUser(extID: $0) }
            if !extIDs.contains(extID) { extIDs.append(extID) }
            if Bool.random(using: &generator) {
                state.markIdentified(user)
                identified.insert(extID)
            }
            let key = "anon-\(Int.random(in: 0..<300, using: &generator))"
            let origin = [LinkOrigin.anonymousID, .email, .alias].randomElement(using: &generator)!
            key.withBytes { state.link($0, to: user, origin: origin) }
            links[key] = (extID, origin)
            let messageID = "m-\(Int.random(in: 0..<2000, using: &generator))"
            let seen = messageID.withBytes { state.rememberMessageID($0) }
            #expect(seen == messageIDs.contains(messageID))
            if !seen { messageIDs.append(messageID) }
        }

        /// Checks that `loaded` answers every question as the scenario says.
        func expectAnswers(of loaded: IdentityState) {
            var loaded = loaded
            #expect(loaded.statistics.users == extIDs.count)
            #expect(loaded.statistics.identifiedUsers == identified.count)
            #expect(loaded.statistics.messageIDs == messageIDs.count)
            #expect(loaded.statistics.links == links.count)
            for extID in extIDs {
                let user = extID.withBytes { loaded.user(extID: $0) }
                #expect(user.map { loaded.isIdentified($0) } == identified.contains(extID), "\(extID)")
                var bytes: [UInt8] = []
                user.map { loaded.appendExtID(of: $0, to: &bytes) }
                #expect(String(decoding: bytes, as: UTF8.self) == extID)
            }
            for (key, (extID, origin)) in links {
                let linked = key.withBytes { loaded.linkedUser($0) }
                var bytes: [UInt8] = []
                linked.map { loaded.appendExtID(of: $0.user, to: &bytes) }
                #expect(String(decoding: bytes, as: UTF8.self) == extID && linked?.origin == origin, "\(key)")
            }
            for messageID in messageIDs {
                #expect(messageID.withBytes { loaded.rememberMessageID($0) }, "\(messageID)")
            }
        }
    }

    @Test func aSnapshotAndAChainOfJournalsLoadToTheSameState() throws {
        try withTemporaryDirectory { dir in
            var scenario = Scenario(seed: 42)
            var journals: [String] = []
            for commit in 1...12 {
                for _ in 0..<150 { scenario.step() }
                let path = dir.appendingPathComponent("\(commit).journal").path
                _ = try StateFile.write(scenario.state, kind: .journal, commit: commit, to: path)
                scenario.state.markChangesSaved()
                journals.append(path)
            }
            var fromJournals = IdentityState(initialCapacity: 16)
            for (index, path) in journals.enumerated() {
                try StateFile.apply(path, kind: .journal, commit: index + 1, to: &fromJournals)
            }
            scenario.expectAnswers(of: fromJournals)

            // Loaded as a spool loads them: room for every journal's users made at once,
            // from what each file says it adds before it is applied, so that adding
            // them copies no array (which no answer shows: hence the counts and bytes
            // the reservation rests on are pinned here).
            let parts = journals.enumerated().map { StateFile.Part(path: $1, kind: .journal, commit: $0 + 1) }
            let loaded = try StateFile.load(parts)
            scenario.expectAnswers(of: loaded)
            let added = journals.compactMap(StateFile.addedUsers)
            #expect(added.count == journals.count)
            #expect(added.map(\.users).reduce(0, +) == loaded.extIDEnds.count
                    && added.map(\.extIDBytes).reduce(0, +) == loaded.extIDBytes.count)
            #expect(loaded.extIDEnds.count == fromJournals.extIDEnds.count)
            #expect(loaded.extIDEnds.capacity < fromJournals.extIDEnds.count * 3 / 2,
                    "reserved \(loaded.extIDEnds.capacity) for \(loaded.extIDEnds.count) users")

            let snapshot = dir.appendingPathComponent("snapshot").path
            _ = try StateFile.write(scenario.state, kind: .snapshot, commit: 12, to: snapshot)
            var fromSnapshot = IdentityState(initialCapacity: 16)
            #expect(try StateFile.apply(snapshot, kind: .snapshot, commit: 12, to: &fromSnapshot) == 12)
            scenario.expectAnswers(of: fromSnapshot)

            // A journal applied out of order, or as the wrong kind, is refused.
            var wrong = IdentityState()
            #expect(throws: SpoolError.self) { try StateFile.apply(journals[1], kind: .journal, commit: 2, to: &wrong) }
            #expect(throws: SpoolError.self) { try StateFile.apply(snapshot, kind: .journal, commit: 12, to: &wrong) }
        }
    }

    /// A file whose checksum holds but which names one user twice (no writer makes one,
    /// but a file put together by hand or by another tool might) is refused, whether its
    /// users are indexed one by one or all at once.
    @Test(arguments: [10, 10_000]) func aUserNamedTwiceIsRefused(users: Int) throws {
        try withTemporaryDirectory { dir in
            var state = IdentityState()
            for user in 0..<users { "user_\(user)".utf8CString.withUnsafeBytes { text in
                _ = state.appendUnindexedUser(UnsafeRawBufferPointer(rebasing: text.dropLast()), identified: true)
            } }
            _ = "user_\(users / 2)".utf8CString.withUnsafeBytes { text in
                state.appendUnindexedUser(UnsafeRawBufferPointer(rebasing: text.dropLast()), identified: false)
            }
            let path = dir.appendingPathComponent("snapshot").path
            _ = try StateFile.write(state, kind: .snapshot, commit: 1, to: path)
            var loaded = IdentityState()
            #expect {
                try StateFile.apply(path, kind: .snapshot, commit: 1, to: &loaded)
            } throws: { error in
                "\(error)".contains("a user appears twice")
            }
        }
    }

    /// A snapshot whose links (indexed on a thread of their own while the users load)
    /// name a user it does not hold is refused, as a journal's are, and the loader
    /// waits for that thread before it lets the file go.
    @Test func aLinkToAnUnknownUserIsRefusedInASnapshotAndAJournal() throws {
        try withTemporaryDirectory { dir in
            var state = IdentityState()
            let user = "u".utf8CString.withUnsafeBytes { state.appendUnindexedUser(UnsafeRawBufferPointer(rebasing: $0.dropLast()), identified: true) }
            state.link(key: Fingerprint(high: 1, low: 3), to: user, origin: .anonymousID)
            state.link(key: Fingerprint(high: 2, low: 5), to: user + 1, origin: .email)
            for kind in [StateFile.Kind.snapshot, .journal] {
                let path = dir.appendingPathComponent("\(kind)").path
                _ = try StateFile.write(state, kind: kind, commit: 1, to: path)
                var loaded = IdentityState()
                #expect {
                    try StateFile.apply(path, kind: kind, commit: 1, to: &loaded)
                } throws: { error in
                    "\(error)".contains("a link names an unknown user")
                }
            }
        }
    }

    /// Every single-byte change and every truncation of a journal is caught before the
    /// state is touched.
    @Test func everyDamagedByteIsCaught() throws {
        try withTemporaryDirectory { dir in
            var scenario = Scenario(seed: 7)
            for _ in 0..<20 { scenario.step() }
            let path = dir.appendingPathComponent("1.journal").path
            let size = try StateFile.write(scenario.state, kind: .journal, commit: 1, to: path)
            let pristine = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(pristine.count == size)
            for offset in 0..<pristine.count {
                var damaged = pristine
                damaged[offset] ^= 0x01
                try damaged.write(to: URL(fileURLWithPath: path))
                var state = IdentityState()
                #expect(throws: SpoolError.self, "byte \(offset)") { try StateFile.apply(path, kind: .journal, commit: 1, to: &state) }
                #expect(state.statistics.users == 0, "byte \(offset) reached the state")
            }
            for length in stride(from: 0, to: pristine.count, by: 7) {
                try pristine.prefix(length).write(to: URL(fileURLWithPath: path))
                var state = IdentityState()
                #expect(throws: SpoolError.self, "cut at \(length)") { try StateFile.apply(path, kind: .journal, commit: 1, to: &state) }
            }
        }
    }

    @Test func theContentHashDoesNotDependOnHowTheBytesAreCut() {
        var generator = SeededGenerator(seed: 99)
        for length in [0, 1, 7, 8, 9, 63, 64, 65, 1000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var whole = ContentHasher()
            bytes.withUnsafeBytes { whole.update($0) }
            for _ in 0..<20 {
                var pieces = ContentHasher()
                var start = 0
                while start < length {
                    let end = min(length, start + Int.random(in: 1...17, using: &generator))
                    bytes[start..<end].withUnsafeBytes { pieces.update($0) }
                    start = end
                }
                #expect(pieces.hexDigest == whole.hexDigest, "length \(length)")
            }
            if length > 0 {
                var changed = bytes
                changed[length / 2] ^= 0x80
                var other = ContentHasher()
                changed.withUnsafeBytes { other.update($0) }
                #expect(other.hexDigest != whole.hexDigest)
            }
            // A trailing zero byte is content too.
            var longer = ContentHasher()
            (bytes + [0]).withUnsafeBytes { longer.update($0) }
            #expect(longer.hexDigest != whole.hexDigest)
            #expect(whole.hexDigest.count == 32)
        }
    }
}

extension String {
    /// Calls `body` with the string's UTF-8 bytes.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var copy = self
        return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }
}
