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
