import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP request replay sends.
public struct OutgoingRequest: Sendable {
    public var method: String
    public var url: String
    /// Header names and values, the API key included (``redactedHeaders`` hides it).
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    /// The headers with the API key's value replaced, for anything a person sees.
    public var redactedHeaders: [(name: String, value: String)] {
        headers.map { $0.name == "apikey" ? ($0.name, "[redacted]") : $0 }
    }
}

/// What came back: a status and (bounded) body, or the reason there was none.
public struct HTTPAnswer: Sendable {
    public var status: Int?
    public var retryAfter: String?
    public var body: [UInt8] = []
    /// A timeout or a connection error, for a person (never holds the key).
    public var failure: String?

    public init(status: Int?, retryAfter: String? = nil, body: [UInt8] = [], failure: String? = nil) {
        self.status = status
        self.retryAfter = retryAfter
        self.body = body
        self.failure = failure
    }
}

/// Sends one request and returns its answer, never throwing: network failures are answers too.
public protocol ReplayTransport: Sendable {
    func send(_ request: OutgoingRequest) async -> HTTPAnswer
}

/// Foundation's `URLSession` (on Linux, FoundationNetworking over libcurl): HTTP/1.1 and
/// HTTP/2, TLS, connection reuse, and nothing to build. See README, "Why URLSession".
public final class URLSessionTransport: ReplayTransport {
    private let session: URLSession
    /// Bytes of a response body kept (for the rejected spool).
    static let bodyLimit = 2048

    public init(timeoutSeconds: Double, concurrency: Int) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeoutSeconds
        configuration.timeoutIntervalForResource = timeoutSeconds
        configuration.httpMaximumConnectionsPerHost = max(concurrency, 1)
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        session = URLSession(configuration: configuration)
    }

    deinit {
        session.finishTasksAndInvalidate()
    }

    public func send(_ outgoing: OutgoingRequest) async -> HTTPAnswer {
        guard let url = URL(string: outgoing.url) else { return HTTPAnswer(status: nil, failure: "not a URL: \(outgoing.url)") }
        var request = URLRequest(url: url)
        request.httpMethod = outgoing.method
        for header in outgoing.headers { request.setValue(header.value, forHTTPHeaderField: header.name) }
        request.httpBody = Data(outgoing.body)
        do {
            let (data, response) = try await session.data(for: request)
            guard let http = response as? HTTPURLResponse else { return HTTPAnswer(status: nil, failure: "not an HTTP response") }
            return HTTPAnswer(status: http.statusCode, retryAfter: http.value(forHTTPHeaderField: "Retry-After"),
                              body: Array(data.prefix(Self.bodyLimit)))
        } catch {
            let code = (error as? URLError)?.code
            let what = code == .timedOut ? "timed out" : code == .networkConnectionLost ? "connection lost"
                : code == .cannotConnectToHost ? "cannot connect" : "request failed (\((error as NSError).code))"
            return HTTPAnswer(status: nil, failure: what)
        }
    }
}
