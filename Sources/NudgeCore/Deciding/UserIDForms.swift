/// The raw `userId` forms of an ``IdentityState``: each a user, the bytes and a record
/// count, in the order first seen, with the forms whose counts changed since the last save.
package struct UserIDForms: Sendable {
    private var index = FingerprintTable(minimumCapacity: 64)
    package private(set) var users: [UInt32] = []
    package private(set) var counts: [UInt32] = []
    private var bytes: [UInt8] = []
    private var ends: [Int] = []
    private var isChanged: [Bool] = []
    /// Forms (indices) whose counts changed since the last save.
    package private(set) var changed: [Int] = []

    package var count: Int { users.count }

    package func raw(_ form: Int) -> ArraySlice<UInt8> { bytes[(form == 0 ? 0 : ends[form - 1])..<ends[form]] }

    private static func key(user: UInt32, raw: UnsafeRawBufferPointer) -> Fingerprint {
        let bytes = Fingerprint(raw, domain: 4)
        return Fingerprint(high: bytes.high ^ Fingerprint.mix(UInt64(user), 0x9E37_79B9_7F4A_7C15), low: bytes.low)
    }

    /// One more record of `user` under `raw`.
    mutating func count(user: UInt32, raw: UnsafeRawBufferPointer) {
        let key = Self.key(user: user, raw: raw)
        let form: Int
        if let found = index.value(for: key) {
            form = Int(found)
        } else {
            form = users.count
            index.set(key, to: UInt32(form))
            users.append(user)
            counts.append(0)
            bytes.appendBytes(raw)
            ends.append(bytes.count)
            isChanged.append(false)
        }
        counts[form] &+= 1
        if !isChanged[form] {
            isChanged[form] = true
            changed.append(form)
        }
    }

    /// Sets the count of `user` under `raw` (loading a state file).
    package mutating func set(user: UInt32, raw: UnsafeRawBufferPointer, records: UInt32) {
        count(user: user, raw: raw)
        counts[index.value(for: Self.key(user: user, raw: raw)).map(Int.init)!] = records
    }

    mutating func markChangesSaved() {
        for form in changed { isChanged[form] = false }
        changed.removeAll(keepingCapacity: true)
    }

    var memoryBytes: Int { index.memoryBytes + users.capacity * 4 + counts.capacity * 4 + bytes.capacity + ends.capacity * 8 + isChanged.capacity }
}
