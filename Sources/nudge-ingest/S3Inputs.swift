import NudgeIngest
#if HTTP
import NudgeS3
import NudgeS3HTTP
#endif

/// Whether this build has the network side: replay's HTTP transport and reading from S3
/// (the package's HTTP trait, on by default).
#if HTTP
let builtWithHTTP = true
#else
let builtWithHTTP = false
#endif

/// `run`'s reader of `s3://` inputs: built only when the command line names one, so that
/// a run of local files needs no AWS credentials.
final class S3Inputs {
    let source: any RemoteInputSource
    private let release: () -> Void

    /// Whether `arguments` name anything in S3.
    static func named(in arguments: [String]) -> Bool {
        arguments.contains { $0.hasPrefix("s3://") }
    }

    /// Why `endpoint` (`--s3-endpoint`) cannot be used, or nil.
    static func problem(withEndpoint endpoint: String) -> String? {
        #if HTTP
        S3Endpoint(url: endpoint) == nil
            ? "--s3-endpoint must be an http:// or https:// URL with a host (http://127.0.0.1:9000)." : nil
        #else
        nil
        #endif
    }

    /// Credentials, region and endpoint found the AWS CLI's way (`endpoint` first).
    /// Throws the configuration's error, which says what to set.
    init(endpoint: String?) throws {
        #if HTTP
        let configuration = try AWSConfiguration.resolve(endpointOverride: endpoint)
        let s3 = S3InputSource(configuration: configuration)
        source = s3
        release = { s3.shutdown() }
        #else
        preconditionFailure("validate() refuses s3:// inputs without the HTTP trait")
        #endif
    }

    /// Closes the connections; once the run is over.
    func shutdown() {
        release()
    }
}
