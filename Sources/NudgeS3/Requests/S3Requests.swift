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

/// How one object is read to its end across dropped connections: every attempt after
/// the first asks for the bytes from the last one received on, under the object's
/// ETag, and failures are retried with exponential backoff and jitter until the
/// attempts are spent, counted in a row: an attempt that brought bytes starts the count
/// again. It decides; the HTTP client carries it out.
package struct S3ObjectRead: Sendable {
    package let bucket: String
    package let key: String
    /// The size the listing gave.
    package let size: Int
    /// Named in a refusal (never the secret).
    package let accessKeyID: String
    /// The version being read: the listing's ETag, or the first answer's.
    package private(set) var etag: String?
    /// Bytes received and handed on so far.
    package private(set) var received = 0
    /// Attempts made, the first included.
    package private(set) var attempts = 0
    /// Attempts that asked for the rest of the object after some bytes of it arrived.
    package private(set) var resumes = 0
    /// Failed attempts in a row, counted from the last that brought bytes (as 1): what the
    /// retry policy counts, so a long object over a network that drops now and then is
    /// read to its end, and one that stops bringing bytes is given up.
    package private(set) var failuresWithoutProgress = 0
    private var receivedWhenAttemptStarted = 0
    package var policy: S3RetryPolicy

    package init(bucket: String, key: String, size: Int, etag: String?, accessKeyID: String,
                policy: S3RetryPolicy = S3RetryPolicy()) {
        self.bucket = bucket
        self.key = key
        self.size = size
        self.accessKeyID = accessKeyID
        self.etag = etag.flatMap { $0.isEmpty ? nil : $0 }
        self.policy = policy
    }

    package var isComplete: Bool { received >= size && attempts > 0 }

    /// The next request: from the first byte not yet received, under the ETag.
    package mutating func nextRequest(endpoint: S3Endpoint) -> S3Request {
        attempts += 1
        if received > 0 { resumes += 1 }
        receivedWhenAttemptStarted = received
        return S3Request.getObject(bucket: bucket, key: key, endpoint: endpoint, from: received, etag: etag)
    }

    /// What to do with an answer's status before its body is read.
    package mutating func answered(status: Int, etag answerETag: String?, error: S3ErrorResponse?) -> Verdict {
        switch status {
        case 200 where received == 0, 206:
            if etag == nil { etag = answerETag }
            if let etag, let answerETag, answerETag != etag {
                return .fail(.objectChanged(bucket: bucket, key: key, was: etag, now: answerETag))
            }
            return .readBody
        case 200:
            // A full answer to a ranged request would splice the start in again.
            return .fail(.unexpectedAnswer(bucket: bucket, key: key, status: status, detail: "a whole object where a range was asked for"))
        case 412:
            return .fail(.objectChanged(bucket: bucket, key: key, was: etag ?? "", now: answerETag ?? "another version"))
        default:
            let code = error?.code ?? ""
            if policy.isRetried(status: status, code: code) { return retryOrFail(.status(status, code)) }
            return .fail(.service(bucket: bucket, key: key, status: status, error: error, accessKeyID: accessKeyID))
        }
    }

    /// Counts bytes of the body as they are handed on.
    package mutating func didReceive(_ count: Int) {
        received += count
    }

    /// The connection failed (or the body ended early): retry from where it stopped.
    package mutating func connectionFailed(_ reason: String) -> Verdict {
        retryOrFail(.connection(reason))
    }

    private mutating func retryOrFail(_ cause: S3RetryCause) -> Verdict {
        failuresWithoutProgress = received > receivedWhenAttemptStarted ? 1 : failuresWithoutProgress + 1
        return switch policy.afterFailure(attempt: failuresWithoutProgress, cause, bucket: bucket, key: key) {
        case .success(let seconds): .retry(afterSeconds: seconds)
        case .failure(let error): .fail(error)
        }
    }

    package enum Verdict: Sendable, Equatable {
        case readBody
        case retry(afterSeconds: Double)
        case fail(S3Error)
    }
}

/// Which S3 failures are worth another try, and how long to wait: the answers S3 asks
/// to be retried (500 InternalError, 503 SlowDown, 502, 504) and dropped connections,
/// with full-jitter exponential backoff as AWS recommends.
package struct S3RetryPolicy: Sendable {
    package var maxAttempts = 10
    package var baseDelaySeconds = 0.1
    package var maxDelaySeconds = 20.0
    /// A draw in [0, 1) for the jitter.
    package var random: @Sendable () -> Double = { Double.random(in: 0..<1) }

    package init() {}

    package func isRetried(status: Int, code: String) -> Bool {
        [500, 502, 503, 504].contains(status) || code == "SlowDown" || code == "InternalError" || code == "RequestTimeout"
    }

    /// After the `attempt`th failure in a row (1 for the first) for `cause`: the wait
    /// before the next, or the error to stop with once the attempts are spent. Object
    /// reads (where an attempt that brought bytes counts as the first again) and listing
    /// pages alike go by it.
    package func afterFailure(attempt: Int, _ cause: S3RetryCause, bucket: String, key: String) -> Result<Double, S3Error> {
        guard attempt < maxAttempts else {
            return .failure(.retriesSpent(bucket: bucket, key: key, attempts: attempt, last: cause))
        }
        return .success(delay(afterAttempt: attempt))
    }

    /// The wait after attempt `attempt` (1 for the first) failed.
    package func delay(afterAttempt attempt: Int) -> Double {
        let ceiling = min(maxDelaySeconds, baseDelaySeconds * Double(1 << min(attempt - 1, 30)))
        return ceiling * random()
    }
}

/// What failed, for the retry's last word.
package enum S3RetryCause: Sendable, Equatable, CustomStringConvertible {
    case status(Int, String)
    case connection(String)

    package var description: String {
        switch self {
        case .status(let status, let code): "HTTP \(status)" + (code.isEmpty ? "" : " \(code)")
        case .connection(let reason): reason
        }
    }
}

/// Why reading from S3 stopped, worded for the user: what was asked, of which bucket and
/// key, and what to do. Never the secret.
package enum S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    case service(bucket: String, key: String, status: Int, error: S3ErrorResponse?, accessKeyID: String)
    case objectChanged(bucket: String, key: String, was: String, now: String)
    case retriesSpent(bucket: String, key: String, attempts: Int, last: S3RetryCause)
    case unexpectedAnswer(bucket: String, key: String, status: Int, detail: String)

    package var description: String {
        switch self {
        case .service(let bucket, let key, let status, let error, let accessKeyID):
            let location = S3Location(bucket: bucket, key: key)
            switch error?.code {
            case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken":
                return "\(location): \(error!.code) for access key \(accessKeyID) on bucket \(bucket): \(error!.message) "
                    + "(check the key's secret and session token, and that it may list and read the bucket)"
            case nil where status == 403:
                return "\(location): HTTP 403 for access key \(accessKeyID) on bucket \(bucket)"
            case "NoSuchBucket": return "no bucket \(bucket) (\(location)); check the name"
            case "NoSuchKey": return "no object \(location)" + (error!.message.isEmpty ? "" : ": \(error!.message)")
            case "AuthorizationHeaderMalformed", "PermanentRedirect":
                let region = error?.region.map { " it is in \($0):" } ?? ""
                return "bucket \(bucket) is in another region;\(region) set AWS_REGION\(error?.region.map { "=\($0)" } ?? "")"
            default:
                let code = error.map { "\($0.code): \($0.message)" } ?? "HTTP \(status)"
                return "\(location): \(code)"
            }
        case .objectChanged(let bucket, let key, let was, let now):
            return "\(S3Location(bucket: bucket, key: key)) changed while it was read (ETag \(was), now \(now)); "
                + "run again to read the new version from its start"
        case .retriesSpent(let bucket, let key, let attempts, let last):
            return "\(S3Location(bucket: bucket, key: key)): gave up after \(attempts) failed attempts in a row, the last \(last)"
        case .unexpectedAnswer(let bucket, let key, let status, let detail):
            return "\(S3Location(bucket: bucket, key: key)): unexpected HTTP \(status), \(detail)"
        }
    }

}
