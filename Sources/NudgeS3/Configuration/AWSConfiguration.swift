import NudgeSystem

/// Where S3 requests go: AWS itself (virtual-hosted addressing,
/// `https://BUCKET.s3.REGION.amazonaws.com/KEY`) or an S3-compatible store at a URL of
/// its own (MinIO, R2, moto), addressed path-style (`URL/BUCKET/KEY`).
package struct S3Endpoint: Sendable, Equatable {
    package var scheme: String
    /// The host as it goes in the `Host` header, with the port when one was given.
    package var host: String
    package var isPathStyle: Bool

    /// AWS's endpoint for `region`.
    package static func aws(region: String) -> S3Endpoint {
        S3Endpoint(scheme: "https", host: "s3.\(region).amazonaws.com", isPathStyle: false)
    }

    /// An S3-compatible store at `url` (`http://127.0.0.1:9000`), path-style; nil unless
    /// the URL is `http` or `https` with a host and no path, query or credentials.
    package init?(url: String) {
        let parts = url.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, ["http", "https"].contains(parts[0].lowercased()) else { return nil }
        var rest = parts[1]
        while rest.hasSuffix("/") { rest.removeLast() }
        guard !rest.isEmpty, !rest.contains(where: { "/?#@ ".contains($0) }) else { return nil }
        self.init(scheme: parts[0].lowercased(), host: String(rest), isPathStyle: true)
    }

    init(scheme: String, host: String, isPathStyle: Bool) {
        self.scheme = scheme
        self.host = host
        self.isPathStyle = isPathStyle
    }

    /// The `Host` header and the encoded path for `key` in `bucket` (the bucket's root
    /// for an empty key).
    package func hostAndPath(bucket: String, key: String) -> (host: String, path: String) {
        let encodedKey = URIEncoding.encode(key, keepingSlashes: true)
        if isPathStyle { return (host, "/" + URIEncoding.encode(bucket) + "/" + encodedKey) }
        return ("\(bucket).\(host)", "/" + encodedKey)
    }
}

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

/// One of the AWS shared files: `[section]` headers, `name = value` settings, `#` and `;`
/// comments. In the config file a profile's section is `[profile NAME]` (or `[default]`);
/// in the credentials file it is `[NAME]`. Indented lines (a service's sub-settings) and
/// other sections (`[sso-session …]`, `[services …]`) are skipped.
struct AWSProfileFile {
    var profiles: [String: [String: String]] = [:]

    init(parsing bytes: [UInt8], isConfigFile: Bool) {
        var current: String?
        for rawLine in String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            if let first = rawLine.first, first == " " || first == "\t" { continue }
            let line = rawLine.trimmed
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { current = nil; continue }
                let name = String(line.dropFirst().dropLast()).trimmed
                if !isConfigFile {
                    current = name
                } else if name == "default" {
                    current = "default"
                } else if name.hasPrefix("profile ") || name.hasPrefix("profile\t") {
                    current = String(name.dropFirst("profile".count)).trimmed
                } else {
                    current = nil
                }
                if let current, profiles[current] == nil { profiles[current] = [:] }
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let name = String(line[..<equals]).trimmed.lowercased()
            var value = String(line[line.index(after: equals)...]).trimmed
            // An inline comment needs a space before its `#` or `;`.
            if let comment = value.firstRange(of: " #") ?? value.firstRange(of: " ;") { value = String(value[..<comment.lowerBound]).trimmed }
            if !value.isEmpty { profiles[current]![name] = value }
        }
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
