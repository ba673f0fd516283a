import NudgeSystem

/// What `nudge-ingest` needs to reach S3, found the way the AWS CLI and SDKs find it:
/// credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`,
/// else from the shared files (`~/.aws/credentials`, then `~/.aws/config`) under the
/// profile `AWS_PROFILE` (or `default`); the region from `AWS_REGION`,
/// `AWS_DEFAULT_REGION` or the profile's `region`, else `us-east-1`; the endpoint from
/// `--s3-endpoint`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL` or the profile's
/// `endpoint_url`, else AWS's.
///
/// Not supported: instance metadata, SSO, `credential_process` and assume-role. For those,
/// `aws configure export-credentials --format env` prints the variables to set.
package struct AWSConfiguration: Sendable {
    package var credentials: AWSCredentials
    /// Where the credentials came from, for messages: "the environment" or a file and profile.
    package var credentialsSource: String
    package var region: String
    package var endpoint: S3Endpoint

    /// Reads the configuration through `environment` (a variable's value, if set) and
    /// `readFile` (a file's bytes, nil when there is none).
    package static func resolve(
        endpointOverride: String? = nil,
        environment: (String) -> String?,
        readFile: (String) throws(AWSConfigurationError) -> [UInt8]?
    ) throws(AWSConfigurationError) -> AWSConfiguration {
        func variable(_ name: String) -> String? {
            guard let value = environment(name)?.trimmed, !value.isEmpty else { return nil }
            return value
        }
        let home = variable("HOME") ?? "~"
        let credentialsPath = variable("AWS_SHARED_CREDENTIALS_FILE") ?? home + "/.aws/credentials"
        let configPath = variable("AWS_CONFIG_FILE") ?? home + "/.aws/config"
        let profile = variable("AWS_PROFILE") ?? variable("AWS_DEFAULT_PROFILE") ?? "default"

        let credentialsFile = try readFile(credentialsPath).map { AWSProfileFile(parsing: $0, isConfigFile: false) }
        let configFile = try readFile(configPath).map { AWSProfileFile(parsing: $0, isConfigFile: true) }
        let fromCredentialsFile = credentialsFile?.profiles[profile]
        let fromConfigFile = configFile?.profiles[profile]
        if profile != "default" && variable("AWS_PROFILE") != nil && fromCredentialsFile == nil && fromConfigFile == nil {
            throw .unknownProfile(profile, files: [credentialsPath, configPath])
        }

        let credentials: AWSCredentials
        let source: String
        if let keyID = variable("AWS_ACCESS_KEY_ID") {
            guard let secret = variable("AWS_SECRET_ACCESS_KEY") else {
                throw .incompleteCredentials(source: "the environment", missing: "AWS_SECRET_ACCESS_KEY")
            }
            credentials = AWSCredentials(accessKeyID: keyID, secretAccessKey: secret,
                                         sessionToken: variable("AWS_SESSION_TOKEN"))
            source = "the environment (AWS_ACCESS_KEY_ID)"
        } else if let found = Self.firstWithKeyID([(fromCredentialsFile, credentialsPath), (fromConfigFile, configPath)]) {
            let (settings, path) = found
            let location = "\(path), profile \(profile)"
            guard let secret = settings["aws_secret_access_key"] else {
                throw .incompleteCredentials(source: location, missing: "aws_secret_access_key")
            }
            credentials = AWSCredentials(accessKeyID: settings["aws_access_key_id"]!, secretAccessKey: secret,
                                         sessionToken: settings["aws_session_token"] ?? settings["aws_security_token"])
            source = location
        } else {
            throw .noCredentials(profile: profile, looked: [credentialsPath, configPath])
        }

        let region = variable("AWS_REGION") ?? variable("AWS_DEFAULT_REGION") ?? fromConfigFile?["region"] ?? "us-east-1"
        let endpoint: S3Endpoint
        if let url = endpointOverride ?? variable("AWS_ENDPOINT_URL_S3") ?? variable("AWS_ENDPOINT_URL")
            ?? fromConfigFile?["endpoint_url"] {
            guard let custom = S3Endpoint(url: url) else { throw .badEndpoint(url) }
            endpoint = custom
        } else {
            endpoint = .aws(region: region)
        }
        return AWSConfiguration(credentials: credentials, credentialsSource: source, region: region, endpoint: endpoint)
    }

    /// The first profile section that has an access key id, with its file's path: the
    /// credentials file's wins over the config file's.
    private static func firstWithKeyID(_ candidates: [([String: String]?, String)]) -> ([String: String], String)? {
        for (settings, path) in candidates {
            if let settings, settings["aws_access_key_id"] != nil { return (settings, path) }
        }
        return nil
    }

    /// Reads the configuration of this process: its environment and files.
    package static func resolve(endpointOverride: String? = nil) throws(AWSConfigurationError) -> AWSConfiguration {
        try resolve(endpointOverride: endpointOverride, environment: CurrentProcess.environment, readFile: readSharedFile)
    }

    /// A shared file's bytes, or nil when there is none.
    static func readSharedFile(_ path: String) throws(AWSConfigurationError) -> [UInt8]? {
        let file: FileDescriptor
        do throws(SystemError) {
            file = try FileDescriptor.open(path, for: .reading)
        } catch {
            if error == .noSuchFile || error == .notADirectory { return nil }
            throw .unreadableFile(path: path, error: error)
        }
        defer { file.close() }
        do throws(SystemError) { return try file.readToEnd() } catch { throw .unreadableFile(path: path, error: error) }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmed: String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isBlank($0) }), let end = lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(self[start...end])
    }
}
