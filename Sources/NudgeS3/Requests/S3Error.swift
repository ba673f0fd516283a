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
