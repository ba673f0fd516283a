/// Counts of what an ``IdentityState`` remembers.
package struct StateStatistics: Sendable, Equatable {
    package var users: Int
    package var identifiedUsers: Int
    package var links: Int
    package var messageIDs: Int
    /// Memory of the tables and arrays (the change lists of an unsaved input excluded):
    /// the `messageId` set, the users (table, `ext_id` bytes, offsets, flags), the links.
    package var messageIDBytes: Int
    /// Bytes the saved `messageId`s take on disk (the spool's `state/message-ids/`).
    package var messageIDDiskBytes: Int = 0
    package var userBytes: Int
    package var linkBytes: Int
    package var memoryBytes: Int { messageIDBytes + userBytes + linkBytes }
}
