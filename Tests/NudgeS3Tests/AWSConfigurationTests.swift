import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeS3
@testable import NudgeSystem

/// Credentials, region and endpoint found as the AWS CLI finds them, from an environment
/// and shared files given to the resolver, and from real files on disk.
@Suite struct AWSConfigurationTests {
    static func resolve(_ environment: [String: String], files: [String: String] = [:],
                        endpoint: String? = nil) throws(AWSConfigurationError) -> AWSConfiguration {
        var environment = environment
        environment["HOME"] = environment["HOME"] ?? "/home/u"
        return try AWSConfiguration.resolve(endpointOverride: endpoint, environment: { environment[$0] },
                                            readFile: { path throws(AWSConfigurationError) in files[path].map { Array($0.utf8) } })
    }

    static let credentialsFile = """
        # comment
        [default]
        aws_access_key_id = AKIADEFAULT
        aws_secret_access_key = default-secret

        [archive]
        aws_access_key_id=AKIAARCHIVE
        aws_secret_access_key=archive-secret ; the archive reader
        aws_session_token = archive-token
        """
    static let configFile = """
        [default]
        region = eu-west-1
        [profile archive]
        region = eu-central-1
        s3 =
          addressing_style = path
          region = ignored
        [profile minio]
        aws_access_key_id = AKIAMINIO
        aws_secret_access_key = minio-secret
        endpoint_url = http://127.0.0.1:9000
        [sso-session corp]
        region = us-west-2
        """
    static let files = ["/home/u/.aws/credentials": credentialsFile, "/home/u/.aws/config": configFile]

    @Test func theEnvironmentComesFirst() throws {
        let configuration = try Self.resolve(["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret",
                                              "AWS_SESSION_TOKEN": "env-token", "AWS_REGION": "ap-south-1",
                                              "AWS_DEFAULT_REGION": "us-west-1"], files: Self.files)
        #expect(configuration.credentials == AWSCredentials(accessKeyID: "AKIAENV", secretAccessKey: "env-secret",
                                                            sessionToken: "env-token"))
        #expect(configuration.credentialsSource == "the environment (AWS_ACCESS_KEY_ID)")
        #expect(configuration.region == "ap-south-1")
        #expect(configuration.endpoint == .aws(region: "ap-south-1"))
        #expect(try Self.resolve(["AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "us-west-1"])
            .region == "us-west-1")
    }

    @Test func profilesComeFromBothFilesAndTheCredentialsFileWins() throws {
        let byDefault = try Self.resolve([:], files: Self.files)
        #expect(byDefault.credentials.accessKeyID == "AKIADEFAULT" && byDefault.credentials.sessionToken == nil)
        #expect(byDefault.credentialsSource == "/home/u/.aws/credentials, profile default")
        #expect(byDefault.region == "eu-west-1")

        let archive = try Self.resolve(["AWS_PROFILE": "archive"], files: Self.files)
        #expect(archive.credentials == AWSCredentials(accessKeyID: "AKIAARCHIVE", secretAccessKey: "archive-secret",
                                                      sessionToken: "archive-token"))
        #expect(archive.region == "eu-central-1", "the indented s3 sub-settings are not the profile's")

        let minio = try Self.resolve(["AWS_PROFILE": "minio"], files: Self.files)
        #expect(minio.credentials.accessKeyID == "AKIAMINIO" && minio.credentialsSource == "/home/u/.aws/config, profile minio")
        #expect(minio.endpoint == S3Endpoint(url: "http://127.0.0.1:9000") && minio.endpoint.isPathStyle)
        #expect(minio.region == "us-east-1", "no region anywhere: us-east-1")
    }

    @Test func theEndpointComesFromTheOptionThenTheEnvironment() throws {
        let keys = ["AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "s"]
        let both = keys.merging(["AWS_ENDPOINT_URL_S3": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL": "http://localhost:6000"]) { $1 }
        #expect(try Self.resolve(both, endpoint: "https://r2.example:8443/").endpoint.host == "r2.example:8443")
        #expect(try Self.resolve(both).endpoint.host == "127.0.0.1:5000")
        #expect(try Self.resolve(keys.merging(["AWS_ENDPOINT_URL": "http://localhost:6000"]) { $1 }).endpoint.host == "localhost:6000")
        for bad in ["127.0.0.1:9000", "ftp://host", "http://", "http://host/path", "http://user@host"] {
            #expect(throws: AWSConfigurationError.badEndpoint(bad)) { try Self.resolve(keys, endpoint: bad) }
        }
        let minio = try #require(S3Endpoint(url: "http://127.0.0.1:9000"))
        #expect(minio.hostAndPath(bucket: "logs", key: "segment-logs/a b/1.gz") == ("127.0.0.1:9000", "/logs/segment-logs/a%20b/1.gz"))
        #expect(S3Endpoint.aws(region: "eu-west-1").hostAndPath(bucket: "logs", key: "x+y")
                == ("logs.s3.eu-west-1.amazonaws.com", "/x%2By"))
    }

    @Test func missingOrPartialCredentialsSayWhatToDo() throws {
        let none = #expect(throws: AWSConfigurationError.self) { try Self.resolve([:]) }
        let message = none.map { "\($0)" } ?? ""
        #expect(message.contains("AWS_ACCESS_KEY_ID") && message.contains("aws configure export-credentials"))
        #expect(throws: AWSConfigurationError.incompleteCredentials(source: "the environment", missing: "AWS_SECRET_ACCESS_KEY")) {
            try Self.resolve(["AWS_ACCESS_KEY_ID": "A"])
        }
        #expect(throws: AWSConfigurationError.unknownProfile("nope", files: ["/home/u/.aws/credentials", "/home/u/.aws/config"])) {
            try Self.resolve(["AWS_PROFILE": "nope"], files: Self.files)
        }
        let partial = ["/home/u/.aws/credentials": "[default]\naws_access_key_id = A\n"]
        #expect(throws: AWSConfigurationError.incompleteCredentials(source: "/home/u/.aws/credentials, profile default",
                                                                  missing: "aws_secret_access_key")) {
            try Self.resolve([:], files: partial)
        }
    }

    /// The process's own resolver reads real files named by AWS_SHARED_CREDENTIALS_FILE
    /// and AWS_CONFIG_FILE; a file that is not there is no error, an unreadable one is.
    @Test func realFilesAreReadAndAMissingOneIsSkipped() throws {
        try withTemporaryDirectory { dir in
            let credentials = dir.appendingPathComponent("credentials")
            try Data(Self.credentialsFile.utf8).write(to: credentials)
            #expect(try AWSConfiguration.readSharedFile(credentials.path) == Array(Self.credentialsFile.utf8))
            #expect(try AWSConfiguration.readSharedFile(dir.appendingPathComponent("none").path) == nil)
            #expect(try AWSConfiguration.readSharedFile(credentials.path + "/below") == nil)
            #expect(throws: AWSConfigurationError.self) { try AWSConfiguration.readSharedFile(dir.path) }
        }
    }
}
