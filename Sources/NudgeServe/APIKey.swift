// With the package's HTTP trait (Package.swift), like the rest of serve.
#if HTTP
import Crypto
import NudgeCore
import NudgeSpool
import NudgeSystem

/// One API key as stored: never its secret, only the secret's SHA-256.
package struct APIKey: Sendable, Equatable {
    /// `key_` and 12 hex digits: what `keys list` shows and `keys revoke` takes.
    package var id: String
    package var name: String
    package var kind: APIKeyKind
    /// SHA-256 of the secret, hex.
    package var sha256: String
    package var createdAt: String
    package var revokedAt: String?

    package var isActive: Bool { revokedAt == nil }
}

extension APIKey {
    /// Reads a line of the keys file; members it does not know are ignored.
    init(json object: JSONObject) throws(JSONReadError) {
        id = try object.string("id")
        name = try object.string("name")
        kind = try object.value("kind", as: APIKeyKind.self)
        sha256 = try object.string("sha256")
        createdAt = try object.string("created_at")
        revokedAt = try object.optionalString("revoked_at")
    }
}
#endif
