import NudgeSystem

/// Where S3 requests go: AWS itself (virtual-hosted addressing,
/// `https://BUCKET.s3.REGION.amazonaws.com/KEY`) or an S3-compatible store at a URL of
/// its own (MinIO, R2, moto), addressed path-style (`URL/BUCKET/KEY`).
package struct S3Endpoint: Sendable, Equatable {
    package var scheme: String
    /// The host as it goes in the `Host` header, with the port when one was given.
    package var host: String
    package var isPathStyle: Bool

    /// AWS's endpoint for `region`.
    package static func aws(region: String) -> S3Endpoint {
        S3Endpoint(scheme: "https", host: "s3.\(region).amazonaws.com", isPathStyle: false)
    }

    /// An S3-compatible store at `url` (`http://127.0.0.1:9000`), path-style; nil unless
    /// the URL is `http` or `https` with a host and no path, query or credentials.
    package init?(url: String) {
        let parts = url.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, ["http", "https"].contains(parts[0].lowercased()) else { return nil }
        var rest = parts[1]
        while rest.hasSuffix("/") { rest.removeLast() }
        guard !rest.isEmpty, !rest.contains(where: { "/?#@ ".contains($0) }) else { return nil }
        self.init(scheme: parts[0].lowercased(), host: String(rest), isPathStyle: true)
    }

    init(scheme: String, host: String, isPathStyle: Bool) {
        self.scheme = scheme
        self.host = host
        self.isPathStyle = isPathStyle
    }

    /// The `Host` header and the encoded path for `key` in `bucket` (the bucket's root
    /// for an empty key).
    package func hostAndPath(bucket: String, key: String) -> (host: String, path: String) {
        let encodedKey = URIEncoding.encode(key, keepingSlashes: true)
        if isPathStyle { return (host, "/" + URIEncoding.encode(bucket) + "/" + encodedKey) }
        return ("\(bucket).\(host)", "/" + encodedKey)
    }
}
