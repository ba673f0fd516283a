/// The `messageId` fingerprints of earlier commits, kept outside the identity state's
/// memory (a spool keeps them on disk, in sorted runs with one filter in memory).
///
/// An ``IdentityState`` holds the ids of the commits since the last save in its own
/// table, and asks this store about the rest. The two never share an id, and the answer
/// is exact: a filter only spares a read of the disk, it never decides.
package protocol SavedMessageIDs: AnyObject, Sendable {
    /// Whether `key` is one of the saved ids.
    func contains(_ key: Fingerprint) -> Bool
    /// Starts bringing into the cache what a ``contains(_:)`` of `key` reads first.
    func prefetch(_ key: Fingerprint)
    /// How many ids are saved.
    var count: Int { get }
    /// Memory the store keeps for its lookups (filters, indexes, buffers).
    var memoryBytes: Int { get }
    /// Bytes the saved ids take on disk.
    var diskBytes: Int { get }
}
