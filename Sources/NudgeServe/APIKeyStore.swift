// With the package's HTTP trait, as the server (Package.swift).
#if HTTP
import Crypto
import NudgeCore
import NudgeSpool
import NudgeSystem

/// The keys of a spool, in `SPOOL/serve/keys.ndjson` (folder 0700, file 0600): one JSON
/// object a line, each key's id, name, kind, the SHA-256 of its secret, and when it was
/// created and revoked (`schemas/api-key.schema.json`). Changes replace the file whole
/// (written aside, synced, renamed), so a crash leaves the old keys or the new ones.
package struct APIKeyStore: Sendable {
    package let spool: String
    package private(set) var keys: [APIKey]

    var folder: String { spool + "/serve" }
    var path: String { folder + "/keys.ndjson" }

    /// Reads the keys of the spool at `spool` (none when it has no keys file).
    package init(spool: String) throws(APIKeyError) {
        self.spool = spool
        keys = []
        guard Files.size(of: path) != nil else { return }
        let bytes: [UInt8]
        do { bytes = try Files.read(path) } catch { throw .spool(error) }
        for (index, line) in bytes.split(separator: 0x0A).enumerated() {
            do {
                keys.append(try APIKey(json: JSONValue(parsing: line).object()))
            } catch {
                throw .damaged(path: path, line: index + 1)
            }
        }
    }

    /// Makes a key of `kind` and stores its SHA-256: returns the key and its secret,
    /// which is shown this once and stored nowhere.
    /// A path that is not a spool is refused, as every command that reads one does.
    package mutating func create(kind: APIKeyKind, name: String) throws(APIKeyError) -> (key: APIKey, secret: String) {
        do { _ = try Ledger.committed(inSpool: spool) } catch { throw .spool(error) }
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        // 40 characters of 62: 238 bits.
        let token = String(decoding: (0..<40).map { _ in alphabet[Int.random(in: 0..<62, using: &generator)] }, as: UTF8.self)
        let secret = kind.prefix + token
        let id = "key_" + (0..<6).map { _ in hex(UInt8.random(in: 0...255, using: &generator)) }.joined()
        let key = APIKey(id: id, name: name, kind: kind, sha256: Self.digest(secret), createdAt: Timestamp.now.isoString)
        keys.append(key)
        try save()
        return (key, secret)
    }

    /// Marks key `id` revoked: it opens nothing from then on (a server running now
    /// reads the keys again at its next request).
    package mutating func revoke(_ id: String) throws(APIKeyError) -> APIKey {
        guard let index = keys.firstIndex(where: { $0.id == id }) else { throw .noSuchKey(id) }
        if keys[index].revokedAt == nil { keys[index].revokedAt = Timestamp.now.isoString }
        try save()
        return keys[index]
    }

    /// The active key whose secret is `secret`, or nil. Every stored digest is compared
    /// in full whatever matched, so the time taken says nothing of how close a guess was.
    package func key(forSecret secret: String) -> APIKey? {
        let presented = Array(Self.digest(secret).utf8)
        var match: APIKey?
        for key in keys {
            let stored = Array(key.sha256.utf8)
            var difference = UInt8(stored.count == presented.count ? 0 : 1)
            for (a, b) in zip(stored, presented) { difference |= a ^ b }
            if difference == 0 && key.isActive { match = key }
        }
        return match
    }

    /// SHA-256 of `secret`, hex.
    static func digest(_ secret: String) -> String {
        SHA256.hash(data: Array(secret.utf8)).map(hex).joined()
    }

    private func save() throws(APIKeyError) {
        var text: [UInt8] = []
        for key in keys {
            var json = JSONWriter()
            json.beginObject()
            json.value("id", key.id)
            json.value("name", key.name)
            json.value("kind", key.kind.rawValue)
            json.value("sha256", key.sha256)
            json.value("created_at", key.createdAt)
            json.value("revoked_at", key.revokedAt)
            json.endObject()
            text += Array(json.text.utf8) + [0x0A]
        }
        do throws(SpoolError) {
            try Files.makeDirectory(folder)
            try DurableFiles.replace(path, with: text)
        } catch {
            throw .spool(error)
        }
    }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef".utf8)
    return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
}
#endif
