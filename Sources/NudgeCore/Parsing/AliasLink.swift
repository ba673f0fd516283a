/// An alias's link: its user and the fingerprint of its `previousId`.
package struct AliasLink: Sendable {
    package var user: UserFacts
    package var previousIDKey: Fingerprint
}
