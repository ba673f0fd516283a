// The transport exists with the package's HTTP trait, on by default; CI's sanitizer
// builds leave it out (Package.swift).
#if HTTP
import AsyncHTTPClient
import Crypto
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NudgeCore
import NudgeIngest
import NudgeSystem

/// `replay`'s requests over swift-server/async-http-client: a pool of keep-alive
/// connections (HTTP/2 over TLS when the server offers it), so a connection the server
/// closed is seen at once, as an error or by the pool before reuse, never as a wait
/// for the timeout. Redirects are not followed (a moved endpoint is the operator's to
/// fix), and nothing is retried here, a connection that cannot be made included:
/// every failure goes back to the
/// ``ReplayMachine``, which retries under the same idempotency key.
package final class HTTPClientTransport: ReplayTransport {
    private let client: HTTPClient
    private let timeout: TimeAmount

    /// - Parameters:
    ///   - timeoutSeconds: the most a request may take, connecting included (`--timeout`).
    ///   - connections: connections kept per host (the concurrency ceiling).
    package init(timeoutSeconds: Double, connections: Int) {
        timeout = .nanoseconds(Int64(timeoutSeconds * 1e9))
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.httpVersion = .automatic
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: timeout, read: timeout)
        configuration.connectionPool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(connections, 1))
        // A connection that cannot be made fails its request at once (the pool would
        // otherwise try again until the request's deadline): the machine retries it, or
        // stops at once when the endpoint has never answered.
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Closes the pool's connections; call once the replay is over.
    package func shutdown() async {
        try? await client.shutdown()
    }

    package func send(_ outgoing: OutgoingRequest) async -> HTTPAnswer {
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
            if let unreachable = Self.unreachable(error) {
                return HTTPAnswer(status: nil, failure: unreachable, unreachable: true)
            }
            return HTTPAnswer(status: nil, failure: "connection failed (\(error))")
        }
    }

    /// A short text for an error that means no connection could be made at all
    /// (refused, no route, no such host, a failed TLS handshake); nil for any other.
    static func unreachable(_ error: any Error) -> String? {
        switch error {
        case let error as NIOConnectionError:
            // Every address was tried; the first one's error says it for all.
            if error.dnsAError != nil || error.dnsAAAAError != nil, error.connectionErrors.isEmpty {
                return "no such host: \(error.host)"
            }
            return error.connectionErrors.first.flatMap { unreachable($0.error) } ?? "could not connect to \(error.host)"
        case let error as IOError where SystemError(code: error.errnoCode).isUnreachable:
            return SystemError(code: error.errnoCode) == .connectionRefused ? "connection refused" : "no route to the host"
        case is SocketAddressError:
            return "no such host"
        case NIOSSLError.handshakeFailed(let error):
            // Only the handshake: an error on a connection already made is a fault to retry.
            return "TLS handshake failed (\(error))"
        default:
            return nil
        }
    }
}

extension ReplayDestination {
    /// The destination of a replay with `apiKey`: the key is kept only as `sha256:` and
    /// the first 32 hex digits of its SHA-256, which names it without revealing it.
    package init(endpoint: String, apiKey: String) {
        let digest = SHA256.hash(data: Array(apiKey.utf8))
        self.init(endpoint: endpoint, keyFingerprint: apiKey.isEmpty ? "" : "sha256:" + hex(bytes: digest.prefix(16)))
    }
}
#endif
