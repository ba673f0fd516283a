import NudgeCore

/// AWS credentials: an access key id and its secret, and a session token with
/// temporary credentials.
///
/// Printing them, with `print`, `dump` or string interpolation, shows the access key id
/// only: the secret and the token are never written anywhere.
package struct AWSCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable {
    package var accessKeyID: String
    package var secretAccessKey: String
    package var sessionToken: String?

    package init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    package var description: String {
        "access key \(accessKeyID)" + (sessionToken == nil ? "" : " (temporary, with a session token)")
    }

    package var debugDescription: String { description }

    package var customMirror: Mirror { Mirror(self, children: ["accessKeyID": accessKeyID]) }
}

/// The instant a request is signed at, in Signature V4's two spellings.
package struct AmzDate: Sendable, Equatable {
    /// `YYYYMMDD'T'HHMMSS'Z'`, the `X-Amz-Date` header.
    package var dateTime: String
    /// `YYYYMMDD`, the credential scope's date.
    package var date: String { String(dateTime.prefix(8)) }

    /// The instant `timestamp`, to the second.
    package init(_ timestamp: Timestamp) {
        var iso: [UInt8] = []
        Timestamp(millisecondsSinceEpoch: timestamp.millisecondsSinceEpoch).appendISOString(to: &iso)
        // 2015-08-30T12:36:00.000Z → 20150830T123600Z
        let kept = iso.prefix(19).filter { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: ":") }
        dateTime = String(decoding: kept, as: UTF8.self) + "Z"
    }

    /// Reads `YYYYMMDD'T'HHMMSS'Z'`.
    package init?(_ dateTime: String) {
        let bytes = Array(dateTime.utf8)
        let digits = bytes.indices.filter { $0 != 8 && $0 != 15 }
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z"),
              digits.allSatisfy({ bytes[$0] &- UInt8(ascii: "0") < 10 }) else { return nil }
        self.dateTime = dateTime
    }
}

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
