// Signing needs swift-crypto, which comes with the package's HTTP trait (on by
// default): without it nothing could send what is signed. CI's sanitizer builds turn the
// trait off, so they do not compile BoringSSL (docs/hardening.md).
#if HTTP
import Crypto
import NudgeCore

/// Signs requests with AWS Signature Version 4 (`AWS4-HMAC-SHA256`), in an
/// `Authorization` header: the canonical request, the string to sign and the signing
/// key derived from the secret, the date, the region and the service.
package struct SigV4Signer: Sendable {
    package var credentials: AWSCredentials
    package var region: String
    package var service: String

    package init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The SHA-256 of an empty body, in hex: a GET's payload hash.
    package static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Signs an S3 request: sets `X-Amz-Date`, `X-Amz-Content-SHA256` and, with temporary
    /// credentials, `X-Amz-Security-Token`, all signed, then adds `Authorization`.
    package func sign(_ request: inout SignableRequest, payloadHash: String = SigV4Signer.emptyPayloadHash,
                     at date: AmzDate) {
        let replaced: Set<String> = ["x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "authorization"]
        request.headers.removeAll { replaced.contains($0.name.lowercased()) }
        request.headers.append(("X-Amz-Date", date.dateTime))
        request.headers.append(("X-Amz-Content-SHA256", payloadHash))
        if let token = credentials.sessionToken { request.headers.append(("X-Amz-Security-Token", token)) }
        request.headers.append(("Authorization", authorization(for: request, payloadHash: payloadHash, at: date)))
    }

    /// The `Authorization` header's value for `request` as it stands, every header signed.
    package func authorization(for request: SignableRequest, payloadHash: String, at date: AmzDate) -> String {
        let (canonical, signedHeaders) = canonicalRequest(request, payloadHash: payloadHash)
        let signature = signature(of: stringToSign(canonicalRequest: canonical, at: date), at: date)
        return "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(at: date)), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    /// The canonical request and its signed-header list.
    package func canonicalRequest(_ request: SignableRequest, payloadHash: String) -> (text: String, signedHeaders: String) {
        // Names lower-cased and sorted; a repeated header's values joined by commas in
        // the order sent; each value trimmed, its runs of spaces made one.
        var values: [String: [String]] = [:]
        var names: [String] = []
        for (name, value) in request.headers {
            let lower = name.lowercased()
            if values[lower] == nil { names.append(lower) }
            values[lower, default: []].append(Self.canonicalHeaderValue(value))
        }
        names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let signedHeaders = names.joined(separator: ";")
        var text = request.method + "\n" + request.encodedPath + "\n" + request.encodedQuery + "\n"
        for name in names { text += name + ":" + values[name]!.joined(separator: ",") + "\n" }
        text += "\n" + signedHeaders + "\n" + payloadHash
        return (text, signedHeaders)
    }

    package func stringToSign(canonicalRequest: String, at date: AmzDate) -> String {
        "AWS4-HMAC-SHA256\n\(date.dateTime)\n\(scope(at: date))\n" + Self.sha256Hex(Array(canonicalRequest.utf8))
    }

    /// The signature of `stringToSign`, in hex.
    package func signature(of stringToSign: String, at date: AmzDate) -> String {
        var key = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [date.date, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    func scope(at date: AmzDate) -> String { "\(date.date)/\(region)/\(service)/aws4_request" }

    /// The SHA-256 of `bytes`, in lower-case hex.
    package static func sha256Hex(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    static func hex(_ digest: some Sequence<UInt8>) -> String { NudgeCore.hex(bytes: digest) }

    /// Trims the value and makes each run of spaces one space.
    static func canonicalHeaderValue(_ value: String) -> String {
        var out: [UInt8] = []
        var pendingSpace = false
        for byte in value.utf8 {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(UInt8(ascii: " ")) }
                pendingSpace = false
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
#endif
