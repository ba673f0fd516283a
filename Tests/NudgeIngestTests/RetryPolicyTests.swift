import Testing
@testable import NudgeIngest

/// replay's retry policy: each status's verdict, `Retry-After`, the backoff and when to
/// stop retrying.
@Suite struct RetryPolicyTests {
    /// Every status, as README's table says: Segment's retried statuses are retried,
    /// only answers that judge a record reject it, and the operator's mistakes stop.
    @Test func everyStatusHasTheVerdictREADMEGives() {
        for status in [408, 423, 500, 502, 504, 506, 507, 508, 511, 599] {
            #expect(RetryPolicy.verdict(status: status) == .transient(congested: false), "\(status)")
        }
        for status in [429, 503] { #expect(RetryPolicy.verdict(status: status) == .transient(congested: true)) }
        #expect(RetryPolicy.verdict(status: nil, timedOut: true) == .transient(congested: true))
        #expect(RetryPolicy.verdict(status: nil) == .transient(congested: false))
        for status in [400, 409, 410, 422] { #expect(RetryPolicy.verdict(status: status) == .rejected, "\(status)") }
        #expect(RetryPolicy.verdict(status: 413) == .payloadTooLarge)
        for status in [401, 403] { #expect(RetryPolicy.verdict(status: status) == .keyRefused) }
        for status in [404, 405] { #expect(RetryPolicy.verdict(status: status) == .routeNotFound) }
        for status in [100, 301, 302, 304, 402, 407, 415, 418, 501, 505] {
            #expect(RetryPolicy.verdict(status: status) == .unexpected, "\(status)")
        }
        for status in [200, 201, 202, 204, 299] { #expect(RetryPolicy.verdict(status: status) == .acknowledged) }
    }

    @Test func retryAfterIsReadAsSecondsOrAnHTTPDate() {
        #expect(RetryPolicy.retryAfterSeconds("120", now: 0) == 120)
        #expect(RetryPolicy.retryAfterSeconds(" 3 ", now: 0) == 3)
        // 1994-11-06T08:49:37Z is 784111777.
        #expect(RetryPolicy.retryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_767) == 10)
        #expect(RetryPolicy.retryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_800) == 0)
        #expect(RetryPolicy.retryAfterSeconds("soon", now: 0) == nil)
        #expect(RetryPolicy.retryAfterSeconds("-5", now: 0) == nil)
        let policy = RetryPolicy()
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 1) == 0.5)
        #expect(policy.delay(afterAttempt: 4, retryAfter: nil, random: 1) == 4)
        #expect(policy.delay(afterAttempt: 30, retryAfter: nil, random: 0.5) == 15)
        #expect(policy.delay(afterAttempt: 2, retryAfter: 7, random: 0.1) == 7)
        #expect(RetryPolicy.verdict(status: 204) == .acknowledged)
        #expect(!policy.shouldRetry(afterAttempt: 8, elapsed: 0, delay: 0))
        #expect(!policy.shouldRetry(afterAttempt: 1, elapsed: 599, delay: 2))
    }
}
