import NudgeSystem

/// Why the S3 settings could not be found, said so that the user can act.
package enum AWSConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case noCredentials(profile: String, looked: [String])
    case incompleteCredentials(source: String, missing: String)
    case unknownProfile(String, files: [String])
    case unreadableFile(path: String, error: SystemError)
    case badEndpoint(String)

    package var description: String {
        switch self {
        case .noCredentials(let profile, let looked):
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for "
                + "temporary ones), or give profile \(profile) an aws_access_key_id in \(looked.joined(separator: " or ")). "
                + "For SSO, assume-role or instance credentials, which nudge-ingest does not read itself, "
                + "run `eval \"$(aws configure export-credentials --format env)\"` first."
        case .incompleteCredentials(let source, let missing):
            "the AWS credentials in \(source) have no \(missing)"
        case .unknownProfile(let profile, let files):
            "AWS_PROFILE names profile \(profile), which is in neither \(files.joined(separator: " nor "))"
        case .unreadableFile(let path, let error):
            "cannot read \(path): \(error)"
        case .badEndpoint(let url):
            "\(url) is not an S3 endpoint URL: give http:// or https://, a host and an optional port, "
                + "for example http://127.0.0.1:9000"
        }
    }
}
