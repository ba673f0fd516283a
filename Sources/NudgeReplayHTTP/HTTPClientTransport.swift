// The transport exists with the package's HTTP trait, on by default; CI's sanitizer
// builds leave it out (Package.swift).
#if HTTP
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NudgeIngest

/// `replay`'s requests over swift-server/async-http-client: a pool of keep-alive
/// connections (HTTP/2 over TLS when the server offers it), so a connection the server
/// closed is seen at once, as an error or by the pool before reuse, never as a wait
/// for the timeout. Redirects are not followed (a moved endpoint is the operator's to
/// fix), and nothing is retried here: every failure goes back to the
/// ``ReplayMachine``, which retries under the same idempotency key.
public final class HTTPClientTransport: ReplayTransport {
    private let client: HTTPClient
    private let timeout: TimeAmount

    /// - Parameters:
    ///   - timeoutSeconds: the most a request may take, connecting included (`--timeout`).
    ///   - connections: connections kept per host (the concurrency ceiling).
    public init(timeoutSeconds: Double, connections: Int) {
        timeout = .nanoseconds(Int64(timeoutSeconds * 1e9))
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.httpVersion = .automatic
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: timeout, read: timeout)
        configuration.connectionPool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(connections, 1))
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Closes the pool's connections; call once the replay is over.
    public func shutdown() async {
        try? await client.shutdown()
    }

    public func send(_ outgoing: OutgoingRequest) async -> HTTPAnswer {
        var request = HTTPClientRequest(url: outgoing.url)
        request.method = HTTPMethod(rawValue: outgoing.method)
        for header in outgoing.headers { request.headers.add(name: header.name, value: header.value) }
        request.body = .bytes(outgoing.body)
        do {
            let response = try await client.execute(request, timeout: timeout)
            // Read the whole body (so the connection goes back to the pool), keep its start.
            var kept: [UInt8] = []
            for try await chunk in response.body where kept.count < HTTPAnswer.bodyLimit {
                kept += chunk.readableBytesView.prefix(HTTPAnswer.bodyLimit - kept.count)
            }
            return HTTPAnswer(status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"),
                              body: kept)
        } catch let error as HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout,
                 .getConnectionFromPoolTimeout:
                return HTTPAnswer(status: nil, failure: "timed out", timedOut: true)
            case .remoteConnectionClosed:
                return HTTPAnswer(status: nil, failure: "connection closed by the server")
            default:
                return HTTPAnswer(status: nil, failure: "request failed (\(error))")
            }
        } catch {
            return HTTPAnswer(status: nil, failure: "connection failed (\(error))")
        }
    }
}
#endif
