/// What the rules remember between records: every `messageId` seen, the users known
/// by `ext_id` (and whether an identify of theirs was accepted), and the identity links.
///
/// Strings are kept as 128-bit fingerprints; only each user's `ext_id` bytes are
/// stored, once, because an anonymous track resolved through a link needs them.
public struct IdentityState: Sendable {
    private var messageIDs: FingerprintTable
    private var usersByExtID: FingerprintTable
    /// Link key → user index << 2 | origin.
    private var links: FingerprintTable
    private var extIDBytes: [UInt8] = []
    private var extIDEnds: [Int] = []
    private var identified: [Bool] = []

    /// An empty state. The tables start with room for `initialCapacity` message ids
    /// (users and links 1/16 of it) and grow as needed; a run starts large so that
    /// growth is rare, a fuzz target small so that each input costs little.
    public init(initialCapacity: Int = 1 << 16) {
        messageIDs = FingerprintTable(minimumCapacity: initialCapacity, storesValues: false)
        usersByExtID = FingerprintTable(minimumCapacity: max(initialCapacity / 16, 16))
        links = FingerprintTable(minimumCapacity: max(initialCapacity / 16, 16))
    }

    /// Remembers a `messageId`; returns whether it had been seen before.
    public mutating func rememberMessageID(_ decoded: UnsafeRawBufferPointer) -> Bool {
        messageIDs.insert(Fingerprint(decoded, domain: 3))
    }

    /// The user known by this `ext_id`, if any.
    public func user(extID: UnsafeRawBufferPointer) -> UInt32? {
        usersByExtID.value(for: Fingerprint(extID, domain: 2))
    }

    /// The user known by this `ext_id`, created if new.
    public mutating func addUser(extID: UnsafeRawBufferPointer) -> UInt32 {
        let key = Fingerprint(extID, domain: 2)
        if let user = usersByExtID.value(for: key) { return user }
        let user = UInt32(identified.count)
        extIDBytes.appendBytes(extID)
        extIDEnds.append(extIDBytes.count)
        identified.append(false)
        usersByExtID.set(key, to: user)
        return user
    }

    public func isIdentified(_ user: UInt32) -> Bool { identified[Int(user)] }

    public mutating func markIdentified(_ user: UInt32) { identified[Int(user)] = true }

    /// Appends the `ext_id` of `user` to `out`.
    public func appendExtID(of user: UInt32, to out: inout [UInt8]) {
        let end = extIDEnds[Int(user)]
        let start = user == 0 ? 0 : extIDEnds[Int(user) - 1]
        out.append(contentsOf: extIDBytes[start..<end])
    }

    /// Links `key` (an anonymousId, a lowercased email or a previousId) to `user`;
    /// a later link for the same key replaces the earlier one.
    public mutating func link(_ key: UnsafeRawBufferPointer, to user: UInt32, origin: LinkOrigin) {
        links.set(Fingerprint(key, domain: 1), to: user << 2 | UInt32(origin.rawValue))
    }

    /// The user `key` is linked to, and how.
    public func linkedUser(_ key: UnsafeRawBufferPointer) -> (user: UInt32, origin: LinkOrigin)? {
        guard let packed = links.value(for: Fingerprint(key, domain: 1)) else { return nil }
        return (packed >> 2, LinkOrigin(rawValue: UInt8(packed & 3))!)
    }
}
