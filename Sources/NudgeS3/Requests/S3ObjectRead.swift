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
