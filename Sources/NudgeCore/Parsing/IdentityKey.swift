/// The fingerprints the identity state is keyed by, one domain each, so that a
/// `messageId`, an `ext_id` and a link key with the same bytes never collide. The
/// parser computes them in parallel; the decider only looks them up.
package enum IdentityKey {
    /// The fingerprint a decoded `messageId` is remembered by.
    package static func messageID(_ decoded: UnsafeRawBufferPointer) -> Fingerprint { Fingerprint(decoded, domain: 3) }

    /// The fingerprint a user is known by: of its `ext_id`.
    package static func user(_ extID: UnsafeRawBufferPointer) -> Fingerprint { Fingerprint(extID, domain: 2) }

    /// The fingerprint a link is kept under (an `anonymousId`, a lowercased email, an
    /// alias's `previousId`).
    package static func link(_ key: UnsafeRawBufferPointer) -> Fingerprint { Fingerprint(key, domain: 1) }
}
