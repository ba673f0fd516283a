import NudgeCore

/// An HTTP request as Signature V4 sees it.
package struct SignableRequest: Sendable {
    package var method: String
    /// The path exactly as it goes on the wire, already encoded: for S3, `/`, the bucket
    /// (path-style), `/` and the key with each byte encoded once and its `/` kept
    /// (``URIEncoding/encode(_:keepingSlashes:)``). S3 paths are not normalised.
    package var encodedPath: String
    /// The query's parameters, not encoded: ``encodedQuery`` encodes them, for the
    /// signature and the wire alike.
    package var query: [(name: String, value: String)]
    /// Every header here is signed (names in any case); send others unsigned.
    package var headers: [(name: String, value: String)]

    package init(method: String, encodedPath: String, query: [(name: String, value: String)] = [],
                headers: [(name: String, value: String)] = []) {
        self.method = method
        self.encodedPath = encodedPath
        self.query = query
        self.headers = headers
    }

    /// The canonical query string: each name and value encoded, sorted by name and then
    /// value, byte for byte. Sending this exact string keeps the wire and the signature
    /// the same, which S3-compatible stores that compare them literally require.
    package var encodedQuery: String {
        query.map { (URIEncoding.encode($0.name), URIEncoding.encode($0.value)) }
            .sorted { a, b in
                a.0 == b.0 ? a.1.utf8.lexicographicallyPrecedes(b.1.utf8) : a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// The value of the header `name` (any case), if the request has it.
    package func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}
