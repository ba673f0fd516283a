// The client exists with the package's HTTP trait, on by default; CI's sanitizer builds
// leave it out (Package.swift).
#if HTTP
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NudgeCore
import NudgeIngest
import NudgeS3
import NudgeSystem
import Synchronization

/// Lists and reads S3 objects over async-http-client, signing every request with
/// Signature V4. What to ask next after a failure is ``S3ObjectRead``'s to decide: this
/// carries it out, streaming each object's bytes as they arrive, never storing it whole.
package final class S3HTTPClient: Sendable {
    package let configuration: AWSConfiguration
    private let client: HTTPClient
    private let timeout: TimeAmount
    private let signer: SigV4Signer
    private let counts = Mutex(RemoteRequestCounts())

    /// Requests sent so far, retries and resumed reads among them, and object bytes received.
    package var requestCounts: RemoteRequestCounts { counts.withLock { $0 } }

    /// - Parameter timeoutSeconds: the most a request may wait for its answer's head, or
    ///   between two pieces of its body.
    package init(configuration: AWSConfiguration, timeoutSeconds: Double = 30) {
        self.configuration = configuration
        signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
        timeout = .nanoseconds(Int64(timeoutSeconds * 1e9))
        var settings = HTTPClient.Configuration()
        settings.redirectConfiguration = .disallow
        settings.decompression = .disabled
        settings.timeout = HTTPClient.Configuration.Timeout(connect: timeout, read: timeout)
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: settings)
    }

    /// Closes the pool's connections; call once done.
    package func shutdown() async {
        try? await client.shutdown()
    }

    /// The objects `location` names, in bytewise key order (S3's, and the order a local
    /// walk gives): the one object when the location is a full key, every object under
    /// it when it is a prefix ending in `/` (or the bucket), and every object under
    /// `KEY/` when `KEY` is not an object but a folder.
    package func objects(at location: S3Location, pageSize: Int? = nil,
                        policy: S3RetryPolicy = S3RetryPolicy()) async throws(S3Error) -> [S3ObjectListing.Object] {
        try await walk(location, pageSize: pageSize, policy: policy).objects
    }

    /// ``objects(at:pageSize:policy:)``, and the folder they were walked below (the
    /// prefix their keys share, `""` for the bucket), nil when the location is one
    /// object's full key.
    package func walk(_ location: S3Location, pageSize: Int? = nil, policy: S3RetryPolicy = S3RetryPolicy())
        async throws(S3Error) -> (objects: [S3ObjectListing.Object], folder: String?) {
        let listed = try await list(location, pageSize: pageSize, policy: policy)
        if location.key.isEmpty || location.key.hasSuffix("/") { return (listed, location.key) }
        if let exact = listed.first(where: { $0.key == location.key }) { return ([exact], nil) }
        let folder = location.key + "/"
        let below = listed.filter { $0.key.hasPrefix(folder) }
        guard !below.isEmpty else {
            throw .service(bucket: location.bucket, key: location.key, status: 404,
                           error: S3ErrorResponse(code: "NoSuchKey", message: "nothing of that name, as a key or as a folder"),
                           accessKeyID: configuration.credentials.accessKeyID)
        }
        return (below, folder)
    }

    /// Every object whose key starts with `location.key`, all pages.
    func list(_ location: S3Location, pageSize: Int?, policy: S3RetryPolicy) async throws(S3Error) -> [S3ObjectListing.Object] {
        var objects: [S3ObjectListing.Object] = []
        var token: String?
        repeat {
            let request = S3Request.listObjects(location, endpoint: configuration.endpoint, continuationToken: token,
                                                maxKeys: pageSize)
            let body = try await fetchWhole(request, bucket: location.bucket, key: location.key, policy: policy)
            guard let page = S3ObjectListing(xml: body) else {
                throw .unexpectedAnswer(bucket: location.bucket, key: location.key, status: 200,
                                        detail: "a listing that is not a ListBucketResult")
            }
            objects += page.objects
            token = page.isTruncated ? page.nextContinuationToken : nil
        } while token != nil
        // S3 lists in UTF-8 byte order already; S3-compatible stores are held to it.
        return objects.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }

    /// Reads `object` of `bucket` to its end, handing each piece of its bytes to `consume`
    /// as it arrives (the next piece is asked for once `consume` returns, so a slow
    /// consumer holds the download back); a dropped connection resumes with a ranged GET
    /// under the object's ETag, 500s and 503s are retried with backoff.
    package func read(_ object: S3ObjectListing.Object, in bucket: String, policy: S3RetryPolicy = S3RetryPolicy(),
                     consume: (ByteBuffer) async throws -> Void) async throws -> S3ObjectRead {
        var read = S3ObjectRead(bucket: bucket, key: object.key, size: object.size, etag: object.etag,
                                accessKeyID: configuration.credentials.accessKeyID, policy: policy)
        while true {
            let resumesBefore = read.resumes
            let request = signed(read.nextRequest(endpoint: configuration.endpoint))
            counts.withLock { [attempts = read.attempts, resumed = read.resumes > resumesBefore] in
                $0.requests += 1
                if attempts > 1 { $0.retries += 1 }
                if resumed { $0.resumes += 1 }
            }
            let verdict: S3ObjectRead.Verdict
            do {
                let response = try await client.execute(request, timeout: timeout)
                let status = Int(response.status.code)
                let error = status >= 300 ? S3ErrorResponse(xml: try await collect(response)) : nil
                switch read.answered(status: status, etag: response.headers.first(name: "ETag"), error: error) {
                case .readBody:
                    for try await piece in response.body {
                        do {
                            try await consume(piece)
                        } catch {
                            throw ConsumerFailed(error: error)
                        }
                        read.didReceive(piece.readableBytes)
                        counts.withLock { $0.bytes += piece.readableBytes }
                    }
                    if read.isComplete { return read }
                    verdict = read.connectionFailed("the answer ended after \(read.received) of \(object.size) bytes")
                case let other:
                    verdict = other
                }
            } catch let failed as ConsumerFailed {
                throw failed.error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // A connection refused, reset or timed out, before or during the body.
                verdict = read.connectionFailed("\(error)")
            }
            // Here the verdict is to retry or to stop: only an answer leads to its body.
            if case .fail(let error) = verdict { throw error }
            if case .retry(let seconds) = verdict { try await Task.sleep(nanoseconds: UInt64(seconds * 1e9)) }
        }
    }

    /// A small answer's whole body (a listing page), retried as an object read is.
    private func fetchWhole(_ unsigned: S3Request, bucket: String, key: String,
                            policy: S3RetryPolicy) async throws(S3Error) -> [UInt8] {
        var attempts = 0
        while true {
            attempts += 1
            counts.withLock { [attempts] in
                $0.requests += 1
                if attempts > 1 { $0.retries += 1 }
            }
            let cause: S3RetryCause
            do {
                let response = try await client.execute(signed(unsigned), timeout: timeout)
                let body = try await collect(response)
                let status = Int(response.status.code)
                if status == 200 { return body }
                let error = S3ErrorResponse(xml: body)
                guard policy.isRetried(status: status, code: error?.code ?? "") else {
                    throw S3Error.service(bucket: bucket, key: key, status: status, error: error,
                                          accessKeyID: configuration.credentials.accessKeyID)
                }
                cause = .status(status, error?.code ?? "")
            } catch let error as S3Error {
                throw error
            } catch {
                cause = .connection("\(error)")
            }
            let seconds = try policy.afterFailure(attempt: attempts, cause, bucket: bucket, key: key).get()
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        }
    }

    /// What `consume` threw, told apart from the connection's failures.
    private struct ConsumerFailed: Error {
        var error: any Error
    }

    private func collect(_ response: HTTPClientResponse) async throws -> [UInt8] {
        var body: [UInt8] = []
        for try await piece in response.body where body.count < 64 << 20 { body += piece.readableBytesView }
        return body
    }

    /// The request signed now, as async-http-client sends it (its `Host` from the URL,
    /// which is the one signed).
    private func signed(_ request: S3Request) -> HTTPClientRequest {
        var signable = request.signable
        signer.sign(&signable, at: AmzDate(Timestamp.now))
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: signable.method)
        for (name, value) in signable.headers where name.lowercased() != "host" {
            outgoing.headers.add(name: name, value: value)
        }
        return outgoing
    }
}
#endif
