/// A request to S3 before it is signed: what to sign (``SignableRequest``) and the URL
/// to send it to, whose path and query are the very strings signed.
package struct S3Request: Sendable {
    package var signable: SignableRequest
    package var scheme: String

    /// The full URL: scheme, host, the encoded path and the canonical query.
    package var url: String {
        let query = signable.encodedQuery
        return "\(scheme)://\(signable.header("host") ?? "")\(signable.encodedPath)" + (query.isEmpty ? "" : "?" + query)
    }

    /// One page of ListObjectsV2 under `location`'s key prefix, keys URL-encoded in the
    /// answer (so that any key survives XML), continuing after `continuationToken`.
    package static func listObjects(_ location: S3Location, endpoint: S3Endpoint, continuationToken: String? = nil,
                                   maxKeys: Int? = nil) -> S3Request {
        let (host, path) = endpoint.hostAndPath(bucket: location.bucket, key: "")
        var query: [(name: String, value: String)] = [("list-type", "2"), ("encoding-type", "url")]
        if !location.key.isEmpty { query.append(("prefix", location.key)) }
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        if let maxKeys { query.append(("max-keys", String(maxKeys))) }
        return S3Request(signable: SignableRequest(method: "GET", encodedPath: path, query: query, headers: [("Host", host)]),
                         scheme: endpoint.scheme)
    }

    /// GET of an object from byte `offset` on; with `etag`, only while the object is
    /// still that version (`If-Match`: S3 answers 412 once it has changed), so that a
    /// resumed read never splices two versions.
    package static func getObject(bucket: String, key: String, endpoint: S3Endpoint, from offset: Int = 0,
                                 etag: String? = nil) -> S3Request {
        let (host, path) = endpoint.hostAndPath(bucket: bucket, key: key)
        var headers: [(name: String, value: String)] = [("Host", host)]
        if offset > 0 { headers.append(("Range", "bytes=\(offset)-")) }
        if let etag, !etag.isEmpty { headers.append(("If-Match", etag)) }
        return S3Request(signable: SignableRequest(method: "GET", encodedPath: path, headers: headers), scheme: endpoint.scheme)
    }
}
