/// A valid `userId`, as rules 7–12 use it.
package struct UserFacts: Sendable {
    /// The fingerprint the state knows the user by (of the sanitised `ext_id`).
    package var key: Fingerprint
    /// The sanitised `ext_id` in the batch's `text`.
    package var extID: Range<Int>
    /// The `userId`'s own text in `text`, when sanitising changed it (`audit collisions`
    /// counts such forms); nil when it is the `ext_id` itself.
    package var rawUserID: Range<Int>?
}
