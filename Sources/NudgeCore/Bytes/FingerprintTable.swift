import CBytes

/// A hash table from fingerprints to 32-bit values (or a set, with no values): 16
/// open-addressing shards with linear probing, chosen by a fingerprint's top bits,
/// each growing on its own at three quarters full. A slot is 20 bytes (16 as a set):
/// for N keys, 27–53 N bytes (21–43 N as a set).
///
/// Shards bound what growing costs: a shard's old and new slots exist together for a
/// moment, so a table of one piece would briefly need one and a half times its size
/// (48 MiB for 1M `messageId`s), where the shards need a sixteenth more.
package struct FingerprintTable: Sendable {
    private static let shardBits = 4
    private var shards: [FingerprintShard]

    package var count: Int { shards.reduce(0) { $0 + $1.count } }
    /// Slots in the table (the shards' together).
    package var capacity: Int { shards.reduce(0) { $0 + $1.capacity } }
    /// Bytes the table's arrays hold.
    package var memoryBytes: Int { shards.reduce(0) { $0 + $1.memoryBytes } }

    /// - Parameter storesValues: `false` makes a set: `insert` only, no `set`/`value`.
    package init(minimumCapacity: Int = 1024, storesValues: Bool = true) {
        let perShard = minimumCapacity >> Self.shardBits
        shards = (0..<(1 << Self.shardBits)).map { _ in
            FingerprintShard(minimumCapacity: perShard, storesValues: storesValues)
        }
    }

    @inline(__always)
    private static func shard(of key: Fingerprint) -> Int { Int(truncatingIfNeeded: key.high >> (64 - shardBits)) }

    /// Grows the shards, once, to hold `count` keys spread evenly without growing again.
    package mutating func reserve(_ count: Int) {
        for index in shards.indices { shards[index].reserve(count >> Self.shardBits) }
    }

    package func value(for key: Fingerprint) -> UInt32? {
        shards[Self.shard(of: key)].value(for: key)
    }

    /// Stores `value` for `key`; returns the value it replaced.
    @discardableResult
    package mutating func set(_ key: Fingerprint, to value: UInt32) -> UInt32? {
        shards[Self.shard(of: key)].set(key, to: value)
    }

    /// Stores each entry's value for its key, the keys all absent from the table and
    /// from each other (`entries` is left reordered); returns the first key found
    /// already present, or nil. For many keys at once (loading a spool's users) it
    /// beats ``set(_:to:)`` one by one: the entries are first dealt into buckets by
    /// where in the table each key's search starts, then stored bucket by bucket, so
    /// each bucket's stores stay in a window of the table that the cache holds, instead
    /// of missing it twice a key (keys and values).
    package mutating func setAbsent(_ entries: inout [(key: Fingerprint, value: UInt32)]) -> Fingerprint? {
        reserve(count + entries.count)
        let slots = shards[0].capacity
        guard entries.count >= 1 << 12, shards.allSatisfy({ $0.capacity == slots }) else {
            for entry in entries where set(entry.key, to: entry.value) != nil { return entry.key }
            return nil
        }
        // A bucket: a shard and the top `bits` of the slot, 16 to 4,096 buckets of about
        // 8,192 entries. Few buckets keep dealing fast (few places written at once); a
        // bucket's entries then go to a 4,096th of the table, a window the cache holds.
        let slotBits = slots.trailingZeroBitCount
        let bucketBits = min(12, max(Self.shardBits, Int.bitWidth - (entries.count >> 13).leadingZeroBitCount))
        let bits = min(slotBits, bucketBits - Self.shardBits)
        let bucket = { (key: Fingerprint) -> Int in
            let slot = Int(truncatingIfNeeded: key.low >> 1) & (slots - 1)
            return Self.shard(of: key) << bits | slot >> (slotBits - bits)
        }
        var starts = [Int](repeating: 0, count: (1 << (Self.shardBits + bits)) + 1)
        for entry in entries { starts[bucket(entry.key) + 1] += 1 }
        for index in 1..<starts.count { starts[index] += starts[index - 1] }
        // Dealt in place (American flag sort): each entry is swapped straight into the
        // next free place of its bucket, so no second array of them is ever held (at
        // 100M users, 2.4 GB less at the peak of loading).
        var next = starts
        entries.withUnsafeMutableBufferPointer { entries in
            for home in 0..<(starts.count - 1) {
                while next[home] < starts[home + 1] {
                    var entry = entries[next[home]]
                    var target = bucket(entry.key)
                    while target != home {
                        swap(&entry, &entries[next[target]])
                        next[target] += 1
                        target = bucket(entry.key)
                    }
                    entries[next[home]] = entry
                    next[home] += 1
                }
            }
        }
        for entry in entries where set(entry.key, to: entry.value) != nil { return entry.key }
        return nil
    }

    /// Adds `key` if absent; returns whether it was already present.
    package mutating func insert(_ key: Fingerprint) -> Bool {
        shards[Self.shard(of: key)].insert(key, unless: { _ in false })
    }

    /// Adds `key` if absent here and `isElsewhere(key)` is false (asked only when it is
    /// absent here); returns whether it was present, here or elsewhere. One probe of
    /// the table: what a set split between memory and disk needs for each new key.
    @inline(__always)
    package mutating func insert(_ key: Fingerprint, unless isElsewhere: (Fingerprint) -> Bool) -> Bool {
        shards[Self.shard(of: key)].insert(key, unless: isElsewhere)
    }

    /// Starts bringing the slot where `key`'s search begins into the cache, for a lookup
    /// or insert soon after.
    @inline(__always)
    package func prefetch(_ key: Fingerprint) {
        shards.withUnsafeBufferPointer { $0[Self.shard(of: key)].prefetch(key) }
    }

    /// Calls `body` with each shard's slots, empty ones (`low` 0) included: the fastest
    /// way through every key, for code that takes them all.
    package func withEachShardsSlots(_ body: (UnsafeBufferPointer<Fingerprint>) -> Void) {
        for shard in shards { shard.withSlots(body) }
    }

    /// Calls `body` with every key (and its value, 0 in a set), shard by shard in slot
    /// order. Inserting them in this order into a table of the same capacity touches
    /// memory almost sequentially, which is what makes loading a saved state fast.
    package func forEach<E: Error>(_ body: (Fingerprint, UInt32) throws(E) -> Void) throws(E) {
        for shard in shards { try shard.forEach(body) }
    }
}

/// One shard of a ``FingerprintTable``: open addressing, linear probing, a power of two
/// slots, growing at three quarters full.
struct FingerprintShard: Sendable {
    private var keys: [Fingerprint]
    private var values: [UInt32]
    private let storesValues: Bool
    private(set) var count = 0

    /// Slots in the shard (a power of two).
    var capacity: Int { keys.count }
    /// Bytes the shard's arrays hold.
    var memoryBytes: Int { keys.count * MemoryLayout<Fingerprint>.stride + values.count * 4 }

    init(minimumCapacity: Int, storesValues: Bool) {
        let capacity = Self.capacity(for: minimumCapacity)
        self.storesValues = storesValues
        keys = Array(repeating: Fingerprint(high: 0, low: 0), count: capacity)
        values = storesValues ? Array(repeating: 0, count: capacity) : []
    }

    /// The smallest power of two that holds `count` keys at most three quarters full.
    private static func capacity(for count: Int) -> Int {
        var capacity = 16
        while capacity * 3 < count * 4 { capacity <<= 1 }
        return capacity
    }

    /// Grows the shard, once, to hold `count` keys without growing again.
    mutating func reserve(_ count: Int) {
        let needed = Self.capacity(for: count)
        if needed > keys.count { rehash(capacity: needed) }
    }

    @inline(__always)
    private var isOverfull: Bool { count * 4 > keys.count * 3 }

    @inline(__always)
    private func slot(for key: Fingerprint) -> (index: Int, found: Bool) {
        let mask = keys.count - 1
        var index = Int(truncatingIfNeeded: key.low >> 1) & mask
        return keys.withUnsafeBufferPointer { keys in
            while true {
                let here = keys[index]
                if here.low == 0 { return (index, false) }
                if here == key { return (index, true) }
                index = (index + 1) & mask
            }
        }
    }

    @inline(__always)
    func prefetch(_ key: Fingerprint) {
        keys.withUnsafeBufferPointer { keys in
            nudge_prefetch(keys.baseAddress! + (Int(truncatingIfNeeded: key.low >> 1) & (keys.count - 1)))
        }
    }

    func value(for key: Fingerprint) -> UInt32? {
        let (index, found) = slot(for: key)
        return found ? values[index] : nil
    }

    /// Stores `value` for `key`; returns the value it replaced.
    @discardableResult
    mutating func set(_ key: Fingerprint, to value: UInt32) -> UInt32? {
        let (index, found) = slot(for: key)
        if found {
            let old = values[index]
            values[index] = value
            return old
        }
        keys[index] = key
        values[index] = value
        count += 1
        if isOverfull { grow() }
        return nil
    }

    /// Adds `key` if absent; returns whether it was already present.
    @inline(__always)
    mutating func insert(_ key: Fingerprint, unless isElsewhere: (Fingerprint) -> Bool) -> Bool {
        let (index, found) = slot(for: key)
        if found || isElsewhere(key) { return true }
        keys[index] = key
        count += 1
        if isOverfull { grow() }
        return false
    }

    func withSlots(_ body: (UnsafeBufferPointer<Fingerprint>) -> Void) {
        keys.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with every key (and its value, 0 in a set) in slot order.
    func forEach<E: Error>(_ body: (Fingerprint, UInt32) throws(E) -> Void) throws(E) {
        for index in keys.indices where keys[index].low != 0 {
            try body(keys[index], storesValues ? values[index] : 0)
        }
    }

    private mutating func grow() { rehash(capacity: keys.count * 2) }

    private mutating func rehash(capacity: Int) {
        let oldKeys = keys
        let oldValues = values
        // Released as the new arrays replace them: only this shard's slots are doubled up.
        keys = Array(repeating: Fingerprint(high: 0, low: 0), count: capacity)
        values = storesValues ? Array(repeating: 0, count: capacity) : []
        count = 0
        for (index, key) in oldKeys.enumerated() where key.low != 0 {
            if storesValues { set(key, to: oldValues[index]) } else { _ = insert(key, unless: { _ in false }) }
        }
    }
}
