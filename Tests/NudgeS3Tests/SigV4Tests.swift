import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeS3
@testable import NudgeSystem

/// Signature V4 against AWS's published test suite (Tests/Fixtures/sigv4/SOURCES.md) and
/// the S3 API reference's worked examples: the canonical request, the string to sign
/// and the `Authorization` header, byte for byte.
@Suite struct SigV4Tests {
    // The signer needs swift-crypto, present with the HTTP trait (off in CI's sanitizer builds).
    #if HTTP
    struct Vector: Decodable {
        var name: String
        var req: String
        var creq: String
        var sts: String
        var authz: String
        var session_token: String?
        var token_header_in_req: Bool
        var normalize_path: Bool
    }

    static let suiteCredentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE",
                                                 secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    /// A request as the suite writes it: `METHOD TARGET HTTP/1.1`, header lines (a line
    /// that starts with a space continues the one before), a blank line, the body.
    static func parse(_ text: String) -> (request: SignableRequest, body: [UInt8]) {
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }  // the two files with a stray newline
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        let target = String(requestLine.dropFirst(method.count + 1).dropLast(" HTTP/1.1".count))
        let pathPart = target.prefix { $0 != "?" }
        let queryPart = target.dropFirst(pathPart.count + 1)
        // S3's rule: the path decoded, then each byte encoded once, `/` kept.
        let path = URIEncoding.encode(URIEncoding.decode(pathPart), keepingSlashes: true)
        let query: [(name: String, value: String)] = queryPart.isEmpty ? [] : queryPart.split(separator: "&").map { pair in
            let name = pair.prefix { $0 != "=" }
            return (URIEncoding.decode(name), URIEncoding.decode(pair.dropFirst(name.count + 1)))
        }
        var headers: [(name: String, value: String)] = []
        while let line = lines.first, !line.isEmpty {
            lines.removeFirst()
            if line.first == " " {
                headers[headers.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces)
            } else {
                let colon = line.firstIndex(of: ":")!
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        let body = lines.isEmpty ? [] : Array(lines.dropFirst().joined(separator: "\n").utf8)
        return (SignableRequest(method: method, encodedPath: path, query: query, headers: headers), body)
    }

    @Test func theAWSTestSuiteSignsByteForByte() throws {
        let data = try Data(contentsOf: fixtures.appendingPathComponent("sigv4/aws-sig-v4-test-suite.json"))
        let vectors = try JSONDecoder().decode([Vector].self, from: data)
        #expect(vectors.count == 34)
        let date = try #require(AmzDate("20150830T123600Z"))
        var checked = 0, notForS3 = 0
        for vector in vectors {
            var (request, body) = Self.parse(vector.req)
            if let token = vector.session_token, !vector.token_header_in_req {
                request.headers.append(("X-Amz-Security-Token", token))
            }
            let signer = SigV4Signer(credentials: Self.suiteCredentials, region: "us-east-1", service: "service")
            let payloadHash = SigV4Signer.sha256Hex(body)
            let canonical = signer.canonicalRequest(request, payloadHash: payloadHash).text
            // The normalize-path cases that need a path normalised apply to other services;
            // S3 signs the path as sent.
            if vector.normalize_path && canonical.split(separator: "\n")[1] != vector.creq.split(separator: "\n")[1] {
                notForS3 += 1
                continue
            }
            #expect(canonical == vector.creq, "\(vector.name): canonical request")
            #expect(signer.stringToSign(canonicalRequest: canonical, at: date) == vector.sts, "\(vector.name): string to sign")
            #expect(signer.authorization(for: request, payloadHash: payloadHash, at: date) == vector.authz, "\(vector.name)")
            checked += 1
        }
        #expect(checked == 28 && notForS3 == 6)
    }

    static let exampleSigner = SigV4Signer(
        credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                                    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")

    /// `sign` sets the date and payload headers S3 wants and signs them, as in AWS's examples.
    @Test(arguments: [
        ("/test.txt", [(String, String)](), [("Range", "bytes=0-9")],
         "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", "host;range;x-amz-content-sha256;x-amz-date"),
        ("/", [("lifecycle", "")], [],
         "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543", "host;x-amz-content-sha256;x-amz-date"),
        ("/", [("prefix", "J"), ("max-keys", "2")], [],
         "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7", "host;x-amz-content-sha256;x-amz-date"),
    ])
    func theS3ReferencesExamplesSign(path: String, query: [(String, String)], extra: [(String, String)],
                                     signature: String, signedHeaders: String) throws {
        var request = SignableRequest(method: "GET", encodedPath: path, query: query.map { ($0.0, $0.1) },
                                      headers: [("Host", "examplebucket.s3.amazonaws.com")] + extra.map { ($0.0, $0.1) })
        Self.exampleSigner.sign(&request, at: try #require(AmzDate("20130524T000000Z")))
        #expect(request.header("x-amz-date") == "20130524T000000Z")
        #expect(request.header("x-amz-content-sha256") == SigV4Signer.emptyPayloadHash)
        #expect(request.header("authorization") == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)")
    }

    @Test func aSessionTokenIsSentAndSignedAndSigningTwiceReplacesTheHeaders() throws {
        var signer = Self.exampleSigner
        signer.credentials.sessionToken = "token/with+chars=="
        var request = SignableRequest(method: "GET", encodedPath: "/test.txt", headers: [("Host", "examplebucket.s3.amazonaws.com")])
        let date = try #require(AmzDate("20130524T000000Z"))
        signer.sign(&request, at: date)
        let first = request.header("authorization")
        #expect(request.header("x-amz-security-token") == "token/with+chars==")
        #expect(first?.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") == true)
        signer.sign(&request, at: date)
        #expect(request.headers.count == 5 && request.header("authorization") == first)
    }

    #endif

    @Test func theDateIsSpelledAsSigV4Wants() throws {
        // 2015-08-30T12:36:00Z
        let date = AmzDate(Timestamp(millisecondsSinceEpoch: 1_440_938_160_999))
        #expect(date.dateTime == "20150830T123600Z" && date.date == "20150830")
        #expect(AmzDate("20150830T123600") == nil && AmzDate("2015083OT123600Z") == nil)
    }

    @Test func encodingIsAWSsUriEncode() {
        #expect(URIEncoding.encode("a b+c/d~e_f-g.h!*'()é") == "a%20b%2Bc%2Fd~e_f-g.h%21%2A%27%28%29%C3%A9")
        #expect(URIEncoding.encode("segment-logs/src 1/2025-05-14/x.gz", keepingSlashes: true)
                == "segment-logs/src%201/2025-05-14/x.gz")
        #expect(URIEncoding.decode("a%20b%2bc+d%zz%4") == "a b+c+d%zz%4")
        #expect(URIEncoding.decode("a+b%2B", plusAsSpace: true) == "a b+")
        // Sorted by encoded name, then value, byte for byte: `Param` before `Param-3`.
        let request = SignableRequest(method: "GET", encodedPath: "/",
                                      query: [("Param-3", "3"), ("Param", "b"), ("Param", "a"), ("ሴ", "x y")])
        #expect(request.encodedQuery == "%E1%88%B4=x%20y&Param=a&Param=b&Param-3=3")
    }

    @Test func credentialsNeverPrintTheirSecret() {
        let credentials = AWSCredentials(accessKeyID: "AKIAEXAMPLE", secretAccessKey: "s3cr3t-value", sessionToken: "t0ken-value")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in ["\(credentials)", String(describing: credentials), String(reflecting: credentials), dumped] {
            #expect(text.contains("AKIAEXAMPLE"))
            #expect(!text.contains("s3cr3t") && !text.contains("t0ken"), "\(text)")
        }
    }
}
