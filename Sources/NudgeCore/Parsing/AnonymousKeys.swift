/// The link keys of an `anonymousId`: its own form and its JavaScript-lowercase form,
/// looked up in that order.
package struct AnonymousKeys: Hashable, Sendable {
    package var exact: Fingerprint
    package var lowercased: Fingerprint
}
