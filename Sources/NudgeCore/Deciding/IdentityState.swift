/// What the rules remember between records: every `messageId` seen, the users known
/// by `ext_id` (and whether an identify of theirs was accepted), and the identity links.
///
/// Strings are kept as 128-bit fingerprints; only each user's `ext_id` bytes are
/// stored, once, because an anonymous track resolved through a link needs them.
///
/// The state also keeps what changed since the last ``markChangesSaved()``, so that a
/// spool can save one input's changes as a small journal instead of the whole state
/// (see ``StateFile``).
package struct IdentityState: Sendable {
    /// The `messageId`s not saved to ``savedMessageIDs`` (all of them, when there is none).
    package var messageIDs: FingerprintTable
    /// The `messageId`s of earlier commits, kept outside this state's memory; disjoint
    /// from ``messageIDs``.
    package var savedMessageIDs: (any SavedMessageIDs)?
    package var usersByExtID: FingerprintTable
    /// Link key → user index << 2 | origin.
    package var links: FingerprintTable
    package var extIDBytes: [UInt8] = []
    package var extIDEnds: [Int] = []
    package var identified: [Bool] = []
    /// Per user: the records that named it by a `userId` (see ``countRecord(of:rawUserID:)``).
    package var userRecords: [UInt32] = []
    /// Raw `userId`s that sanitise to another text than themselves (`User 42` → `user_42`),
    /// with how many records carried each: with `userRecords`, what `audit collisions`
    /// reads. Found by a fingerprint of user and bytes, so counting allocates nothing.
    package var forms = UserIDForms()

    // What changed since the last save: users from `savedUserCount` on are new; the
    // rest is listed in the order it happened.
    package var savedUserCount = 0
    package var newMessageIDs: [Fingerprint] = []
    /// Users saved before who were identified since.
    package var newlyIdentified: [UInt32] = []
    package var linkChanges: [LinkChange] = []
    /// Users whose record counts changed (each listed once).
    package var countedUsers: [UInt32] = []
    var isCounted: [Bool] = []

    package struct LinkChange {
        package var key: Fingerprint
        package var packed: UInt32
    }

    /// An empty state. The tables start with room for `initialCapacity` message ids
    /// (users and links 1/16 of it) and grow as needed; a run starts large so that
    /// growth is rare, a fuzz target small so that each input costs little.
    package init(initialCapacity: Int = 1 << 16) {
        messageIDs = FingerprintTable(minimumCapacity: initialCapacity, storesValues: false)
        usersByExtID = FingerprintTable(minimumCapacity: max(initialCapacity / 16, 16))
        links = FingerprintTable(minimumCapacity: max(initialCapacity / 16, 16))
    }

    /// Remembers a `messageId`; returns whether it had been seen before.
    package mutating func rememberMessageID(_ decoded: UnsafeRawBufferPointer) -> Bool {
        rememberMessageID(key: IdentityKey.messageID(decoded))
    }

    /// How many records ahead of the one being decided a decider starts the memory reads
    /// of its `messageId` lookup (``prefetchMessageID(key:)``): each lookup costs a cache
    /// miss in the recent table and one in the saved ids' filter, which then overlap
    /// with the deciding of the records between.
    package static let prefetchDistance = 8

    /// Starts the memory reads that ``rememberMessageID(key:)`` of `key` will make.
    @inline(__always)
    package func prefetchMessageID(key: Fingerprint) {
        messageIDs.prefetch(key)
        savedMessageIDs?.prefetch(key)
    }

    /// Remembers a `messageId` by its ``IdentityKey/messageID(_:)``; returns whether it had been seen before.
    package mutating func rememberMessageID(key: Fingerprint) -> Bool {
        let saved = savedMessageIDs
        if messageIDs.insert(key, unless: { saved?.contains($0) == true }) { return true }
        newMessageIDs.append(key)
        return false
    }


    /// The user known by this `ext_id`, if any.
    package func user(extID: UnsafeRawBufferPointer) -> UInt32? {
        usersByExtID.value(for: IdentityKey.user(extID))
    }

    /// The user known by this `ext_id`, created if new.
    package mutating func addUser(extID: UnsafeRawBufferPointer) -> UInt32 {
        addUser(extID: extID, key: IdentityKey.user(extID))
    }

    /// The user known by this `ext_id`, whose ``IdentityKey/user(_:)`` is `key`, created if new.
    package mutating func addUser(extID: UnsafeRawBufferPointer, key: Fingerprint) -> UInt32 {
        if let user = usersByExtID.value(for: key) { return user }
        return appendUser(extID, key: key, identified: false)
    }

    package mutating func appendUser(_ extID: UnsafeRawBufferPointer, key: Fingerprint, identified isIdentified: Bool) -> UInt32 {
        let user = appendUnindexedUser(extID, identified: isIdentified)
        usersByExtID.set(key, to: user)
        return user
    }

    /// Makes room for `count` more users whose `ext_id`s take `extIDBytes` bytes, so
    /// that adding them grows no array (loading a state file). An array too small is
    /// copied whole into one of exactly the size: a loader of several files reserves
    /// for all of them at once (`StateFile.load`).
    package mutating func reserveUsers(_ count: Int, extIDBytes bytes: Int) {
        usersByExtID.reserve(usersByExtID.count + count)
        extIDBytes.reserveCapacity(extIDBytes.count + bytes)
        extIDEnds.reserveCapacity(extIDEnds.count + count)
        identified.reserveCapacity(identified.count + count)
        userRecords.reserveCapacity(userRecords.count + count)
        isCounted.reserveCapacity(isCounted.count + count)
    }

    /// A new user, not yet findable by its `ext_id`: the caller indexes it in
    /// ``usersByExtID`` (loading a state file indexes its users all at once).
    package mutating func appendUnindexedUser(_ extID: UnsafeRawBufferPointer, identified isIdentified: Bool) -> UInt32 {
        let user = UInt32(identified.count)
        extIDBytes.appendBytes(extID)
        extIDEnds.append(extIDBytes.count)
        identified.append(isIdentified)
        userRecords.append(0)
        isCounted.append(false)
        return user
    }

    package func isIdentified(_ user: UInt32) -> Bool { identified[Int(user)] }

    package mutating func markIdentified(_ user: UInt32) {
        guard !identified[Int(user)] else { return }
        identified[Int(user)] = true
        if Int(user) < savedUserCount { newlyIdentified.append(user) }
    }

    /// Counts a record that named `user`; `rawUserID` is its `userId`'s text when
    /// sanitising changed it (counted as a form), nil otherwise.
    mutating func countRecord(of user: UInt32, rawUserID: UnsafeRawBufferPointer?) {
        let index = Int(user)
        userRecords[index] &+= 1
        if !isCounted[index] {
            isCounted[index] = true
            countedUsers.append(user)
        }
        if let rawUserID { forms.count(user: user, raw: rawUserID) }
    }

    /// The `ext_id` bytes of `user`.
    package func extIDRange(of user: Int) -> Range<Int> {
        (user == 0 ? 0 : extIDEnds[user - 1])..<extIDEnds[user]
    }

    /// Appends the `ext_id` of `user` to `out`.
    package func appendExtID(of user: UInt32, to out: inout [UInt8]) {
        out.append(contentsOf: extIDBytes[extIDRange(of: Int(user))])
    }

    /// Links `key` (an anonymousId, a lowercased email or a previousId) to `user`;
    /// a later link for the same key replaces the earlier one.
    package mutating func link(_ key: UnsafeRawBufferPointer, to user: UInt32, origin: LinkOrigin) {
        link(key: IdentityKey.link(key), to: user, origin: origin)
    }

    /// Links the key whose ``IdentityKey/link(_:)`` is `key` to `user`.
    package mutating func link(key: Fingerprint, to user: UInt32, origin: LinkOrigin) {
        let change = LinkChange(key: key, packed: user << 2 | UInt32(origin.rawValue))
        // A user's repeated identifies set the same links again: only changes are kept.
        if links.set(change.key, to: change.packed) != change.packed { linkChanges.append(change) }
    }

    /// The user `key` is linked to, and how.
    package func linkedUser(_ key: UnsafeRawBufferPointer) -> (user: UInt32, origin: LinkOrigin)? {
        linkedUser(key: IdentityKey.link(key))
    }

    package func linkedUser(key: Fingerprint) -> (user: UInt32, origin: LinkOrigin)? {
        guard let packed = links.value(for: key) else { return nil }
        return (packed >> 2, LinkOrigin(rawValue: UInt8(packed & 3))!)
    }

    /// Forgets the list of changes: they are saved.
    package mutating func markChangesSaved() {
        savedUserCount = identified.count
        newMessageIDs.removeAll(keepingCapacity: true)
        newlyIdentified.removeAll(keepingCapacity: true)
        linkChanges.removeAll(keepingCapacity: true)
        for user in countedUsers { isCounted[Int(user)] = false }
        countedUsers.removeAll(keepingCapacity: true)
        forms.markChangesSaved()
    }

    /// How much the state holds, and the memory it takes.
    package var statistics: StateStatistics {
        StateStatistics(
            users: identified.count, identifiedUsers: identified.lazy.filter { $0 }.count,
            links: links.count, messageIDs: messageIDs.count + (savedMessageIDs?.count ?? 0),
            messageIDBytes: messageIDs.memoryBytes + (savedMessageIDs?.memoryBytes ?? 0),
            messageIDDiskBytes: savedMessageIDs?.diskBytes ?? 0,
            userBytes: usersByExtID.memoryBytes + extIDBytes.capacity + extIDEnds.capacity * 8 + identified.capacity
                + userRecords.capacity * 4 + isCounted.capacity + forms.memoryBytes,
            linkBytes: links.memoryBytes)
    }
}
