import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeS3

/// The requests S3 reading sends, and how one object is read to its end across
/// dropped connections, 503s and a changed object: decided in process, before any HTTP.
@Suite struct S3ObjectReadTests {
    static let moto = S3Endpoint(url: "http://127.0.0.1:5999")!

    @Test func listingAndGetRequestsAreSpelledOnceForSigningAndSending() {
        let first = S3Request.listObjects(S3Location("s3://logs/segment-logs/src 1/")!, endpoint: Self.moto, maxKeys: 2)
        #expect(first.url == "http://127.0.0.1:5999/logs/?encoding-type=url&list-type=2&max-keys=2&prefix=segment-logs%2Fsrc%201%2F")
        #expect(first.signable.header("host") == "127.0.0.1:5999")
        let next = S3Request.listObjects(S3Location("s3://logs")!, endpoint: .aws(region: "eu-west-1"), continuationToken: "a/b+c=")
        #expect(next.url == "https://logs.s3.eu-west-1.amazonaws.com/?continuation-token=a%2Fb%2Bc%3D&encoding-type=url&list-type=2")

        let whole = S3Request.getObject(bucket: "logs", key: "a/b é.gz", endpoint: Self.moto, etag: "\"abc\"")
        #expect(whole.url == "http://127.0.0.1:5999/logs/a/b%20%C3%A9.gz")
        #expect(whole.signable.header("range") == nil && whole.signable.header("if-match") == "\"abc\"")
        let rest = S3Request.getObject(bucket: "logs", key: "k", endpoint: Self.moto, from: 1000)
        #expect(rest.signable.header("range") == "bytes=1000-" && rest.signable.header("if-match") == nil)
    }

    static var noJitter: S3RetryPolicy {
        var policy = S3RetryPolicy()
        policy.random = { 0.5 }
        policy.maxAttempts = 4
        return policy
    }

    @Test func aDroppedConnectionResumesFromTheLastByteUnderTheETag() {
        var read = S3ObjectRead(bucket: "logs", key: "k.gz", size: 100, etag: nil, accessKeyID: "AKIA1", policy: Self.noJitter)
        let first = read.nextRequest(endpoint: Self.moto)
        #expect(first.signable.header("range") == nil && first.signable.header("if-match") == nil)
        #expect(read.answered(status: 200, etag: "\"v1\"", error: nil) == .readBody)
        read.didReceive(40)
        #expect(read.connectionFailed("connection reset by peer") == .retry(afterSeconds: 0.05))
        let second = read.nextRequest(endpoint: Self.moto)
        #expect(second.signable.header("range") == "bytes=40-" && second.signable.header("if-match") == "\"v1\"")
        #expect(read.answered(status: 206, etag: "\"v1\"", error: nil) == .readBody)
        read.didReceive(60)
        #expect(read.isComplete && read.attempts == 2)
    }

    /// The attempts are counted in a row: a connection that drops after bringing bytes
    /// starts the count again, so 25 drops (more than the 4 attempts allowed), each after
    /// 4 more bytes, read the whole object, each resumed where the last stopped and
    /// waiting as after a first failure; a drop and then 3 attempts that bring nothing,
    /// 4 failures since the last byte, stop.
    @Test func dropsThatMoveTheReadOnNeverSpendTheAttempts() {
        var read = S3ObjectRead(bucket: "logs", key: "k.gz", size: 100, etag: nil, accessKeyID: "AKIA1", policy: Self.noJitter)
        for drop in 0..<25 {
            let request = read.nextRequest(endpoint: Self.moto)
            #expect(request.signable.header("range") == (drop == 0 ? nil : "bytes=\(drop * 4)-"))
            #expect(read.answered(status: drop == 0 ? 200 : 206, etag: "\"v1\"", error: nil) == .readBody)
            read.didReceive(4)
            if drop < 24 {
                #expect(read.connectionFailed("reset") == .retry(afterSeconds: 0.05), "drop \(drop)")
            }
        }
        #expect(read.isComplete && read.attempts == 25 && read.resumes == 24)

        var stuck = S3ObjectRead(bucket: "logs", key: "k.gz", size: 100, etag: nil, accessKeyID: "AKIA1", policy: Self.noJitter)
        _ = stuck.nextRequest(endpoint: Self.moto)
        _ = stuck.answered(status: 200, etag: "\"v1\"", error: nil)
        stuck.didReceive(10)
        var verdicts = [stuck.connectionFailed("reset")]
        for _ in 0..<3 {
            _ = stuck.nextRequest(endpoint: Self.moto)
            verdicts.append(stuck.connectionFailed("connection refused"))
        }
        #expect(verdicts.dropLast() == [.retry(afterSeconds: 0.05), .retry(afterSeconds: 0.1), .retry(afterSeconds: 0.2)])
        #expect(verdicts.last == .fail(.retriesSpent(bucket: "logs", key: "k.gz", attempts: 4, last: .connection("connection refused"))))
    }

    @Test func aChangedObjectIsNeverSpliced() {
        var read = S3ObjectRead(bucket: "logs", key: "k.gz", size: 100, etag: "\"v1\"", accessKeyID: "AKIA1")
        _ = read.nextRequest(endpoint: Self.moto)
        #expect(read.answered(status: 200, etag: "\"v1\"", error: nil) == .readBody)
        read.didReceive(10)
        _ = read.connectionFailed("reset")
        _ = read.nextRequest(endpoint: Self.moto)
        let changed = read.answered(status: 412, etag: nil, error: S3ErrorResponse(code: "PreconditionFailed", message: "At least one of the pre-conditions you specified did not hold"))
        guard case .fail(let error) = changed else { Issue.record("\(changed)"); return }
        #expect("\(error)" == "s3://logs/k.gz changed while it was read (ETag \"v1\", now another version); run again to read the new version from its start")
        // A listing's ETag that the first answer contradicts, and a whole object where a range was asked for.
        var listed = S3ObjectRead(bucket: "logs", key: "k.gz", size: 100, etag: "\"v1\"", accessKeyID: "AKIA1")
        _ = listed.nextRequest(endpoint: Self.moto)
        #expect(listed.answered(status: 200, etag: "\"v2\"", error: nil) == .fail(.objectChanged(bucket: "logs", key: "k.gz", was: "\"v1\"", now: "\"v2\"")))
        var ranged = S3ObjectRead(bucket: "logs", key: "k.gz", size: 100, etag: "\"v1\"", accessKeyID: "AKIA1")
        _ = ranged.nextRequest(endpoint: Self.moto)
        _ = ranged.answered(status: 200, etag: "\"v1\"", error: nil)
        ranged.didReceive(5)
        _ = ranged.connectionFailed("reset")
        _ = ranged.nextRequest(endpoint: Self.moto)
        guard case .fail = ranged.answered(status: 200, etag: "\"v1\"", error: nil) else { Issue.record("a 200 to a range"); return }
    }

    @Test func slowDownAndServerErrorsAreRetriedUntilTheAttemptsAreSpent() {
        var read = S3ObjectRead(bucket: "logs", key: "k.gz", size: 10, etag: nil, accessKeyID: "AKIA1", policy: Self.noJitter)
        let slowDown = S3ErrorResponse(code: "SlowDown", message: "Please reduce your request rate.")
        var delays: [Double] = []
        for _ in 1...3 {
            _ = read.nextRequest(endpoint: Self.moto)
            guard case .retry(let after) = read.answered(status: 503, etag: nil, error: slowDown) else {
                Issue.record("503 SlowDown not retried"); return
            }
            delays.append(after)
        }
        #expect(delays == [0.05, 0.1, 0.2], "doubling, under full jitter (here its middle)")
        _ = read.nextRequest(endpoint: Self.moto)
        let spent = read.answered(status: 500, etag: nil, error: S3ErrorResponse(code: "InternalError", message: "x"))
        #expect(spent == .fail(.retriesSpent(bucket: "logs", key: "k.gz", attempts: 4, last: .status(500, "InternalError"))))
        if case .fail(let error) = spent {
            #expect("\(error)" == "s3://logs/k.gz: gave up after 4 failed attempts in a row, the last HTTP 500 InternalError")
        }
        // The ceiling holds whatever the attempt.
        var policy = S3RetryPolicy()
        policy.random = { 0.999 }
        #expect(policy.delay(afterAttempt: 60) < policy.maxDelaySeconds)
    }

    @Test func refusalsNameTheKeyIDAndBucketAndWrongRegionsTheRightOne() {
        func failure(_ status: Int, _ error: S3ErrorResponse?) -> String {
            var read = S3ObjectRead(bucket: "logs", key: "k.gz", size: 10, etag: nil, accessKeyID: "AKIAEXAMPLE")
            _ = read.nextRequest(endpoint: Self.moto)
            guard case .fail(let error) = read.answered(status: status, etag: nil, error: error) else { return "retried" }
            return "\(error)"
        }
        let denied = failure(403, S3ErrorResponse(code: "AccessDenied", message: "Access Denied"))
        #expect(denied.contains("access key AKIAEXAMPLE on bucket logs") && denied.contains("AccessDenied"))
        #expect(failure(403, nil).contains("access key AKIAEXAMPLE on bucket logs"))
        #expect(failure(404, S3ErrorResponse(code: "NoSuchBucket", message: "")) == "no bucket logs (s3://logs/k.gz); check the name")
        #expect(failure(404, S3ErrorResponse(code: "NoSuchKey", message: "")).hasPrefix("no object s3://logs/k.gz"))
        #expect(failure(400, S3ErrorResponse(code: "AuthorizationHeaderMalformed", message: "", region: "eu-central-1"))
                .contains("set AWS_REGION=eu-central-1"))
        #expect(failure(400, S3ErrorResponse(code: "InvalidArgument", message: "bad")) == "s3://logs/k.gz: InvalidArgument: bad")
    }
}
