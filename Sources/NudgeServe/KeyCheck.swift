// With the package's HTTP trait (Package.swift), like the rest of serve.
#if HTTP
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import NudgeCore
import NudgeIngest
import NudgeRendering
import NudgeSpool
import NudgeSystem

/// Every request passes here: its key is checked (`Authorization: Bearer sk_…`: 401
/// without a key or with one the spool does not know or has revoked, 403 for a test key
/// anywhere but preview), and one line is logged for it: the time, method, path and
/// query, status, milliseconds and the key's id, never its secret (which travels only
/// in a header).
struct KeyCheck: RouterMiddleware {
    typealias Context = BasicRequestContext
    let spool: String
    let log: @Sendable (String) -> Void

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = MonotonicClock.now
        var status = 500
        var keyID = "-"
        defer {
            let milliseconds = (MonotonicClock.now - started) * 1000
            log("\(Timestamp.now.isoString) \(request.method) \(Self.redacted(request.uri)) \(status) \(format1(milliseconds)) ms \(keyID)")
        }
        do {
            let path = request.uri.path
            guard let route = Route(path: path) else {
                throw APIError.notFound("no route \(path); the routes are " + Route.summary)
            }
            if request.method != route.method {
                throw APIError.methodNotAllowed(allowed: route.method.rawValue)
            }
            let key = try Self.key(of: request, spool: spool)
            keyID = key.id
            if key.kind == .test && !(request.method == .post && path == "/v1/preview") {
                throw APIError.forbidden("\(key.id) is a test key: it may only POST /v1/preview")
            }
            try route.checkParameters(request.uri.queryParameters.map { String($0.key) }.filter { !$0.isEmpty }, path: path)
            let response = try await next(request, context)
            status = Int(response.status.code)
            return response
        } catch let error as APIError {
            status = Int(error.status.code)
            // A browser without a key gets a page to sign in with, not JSON.
            if case .unauthorized(let why) = error, Self.isPage(request.uri.path) {
                return AuditServer.htmlResponse(DashboardPages.signIn(why), status: .unauthorized)
            }
            throw error
        } catch let error as any HTTPResponseError {
            status = Int(error.status.code)
            throw error
        }
    }

    /// What a served path answers: its one method, and the query parameters it reads.
    /// Anything else is refused with the JSON error shape: a path not served (404),
    /// another method (405), a parameter it does not read (400, a typo never ignored).
    struct Route {
        var method: HTTPRequest.Method
        var parameters: [String]

        static let filters = ["reason", "type", "event", "user", "file", "from", "to"]

        /// The route of `path`; nil for a path that is not served.
        init?(path: String) {
            func isItem(under folder: String) -> Bool {
                path.hasPrefix(folder) && path.count > folder.count && !path.dropFirst(folder.count).contains("/")
            }
            switch path {
            case "/": (method, parameters) = (.get, ["key"])
            case "/v1/drops", "/ui/drops": (method, parameters) = (.get, Self.filters + ["limit", "cursor", "order"])
            case "/v1/rejected": (method, parameters) = (.get, ["limit", "cursor"])
            case "/v1/report", "/v1/collisions": (method, parameters) = (.get, [])
            case "/v1/preview": (method, parameters) = (.post, [])
            case _ where isItem(under: "/v1/drops/") || isItem(under: "/ui/drops/"): (method, parameters) = (.get, [])
            default: return nil
            }
        }

        /// The routes, for a 404's message.
        static let summary = "GET /v1/drops, GET /v1/drops/{id}, POST /v1/preview, GET /v1/report, "
            + "GET /v1/collisions, GET /v1/rejected and the dashboard at GET /"

        /// Refuses the first of `names` this route does not read, naming the ones it does.
        func checkParameters(_ names: [String], path: String) throws(APIError) {
            guard let unknown = names.first(where: { !parameters.contains($0) }) else { return }
            let known = parameters.isEmpty ? "it takes none" : "it takes " + parameters.joined(separator: ", ")
            let guess = parameters.first { unknown.hasSuffix("s") && $0 == unknown.dropLast() }.map { " (did you mean \($0)?)" } ?? ""
            throw .badParameter(unknown, "not a parameter of \(method.rawValue) \(path)\(guess); \(known)")
        }
    }

    /// The cookie a browser keeps the key in once signed in at `/?key=…`.
    static let cookie = "nudge_key"

    /// The key a request presents: `Authorization: Bearer …`; for the dashboard's pages
    /// also the sign-in `?key=` of `/` and the cookie it sets.
    static func key(of request: Request, spool: String) throws(APIError) -> APIKey {
        var secret: String?
        if let header = request.headers[.authorization], let token = bearerToken(header) {
            secret = token
        } else if isPage(request.uri.path) {
            if request.uri.path == "/", let key = request.uri.queryParameters["key"] {
                secret = String(key)
            } else if let cookies = request.headers[.cookie] {
                secret = cookies.split(separator: ";").lazy.map { $0.trimmingCharacters(in: .whitespaces) }
                    .first { $0.hasPrefix(cookie + "=") }.map { String($0.dropFirst(cookie.count + 1)) }
            }
        }
        guard let secret else {
            throw .unauthorized("send an API key: Authorization: Bearer sk_live_… (nudge-ingest keys create)")
        }
        let store: APIKeyStore
        do { store = try APIKeyStore(spool: spool) } catch { throw .spool(error.description) }
        guard let key = store.key(forSecret: secret) else {
            throw .unauthorized("this API key is not one of this spool's, or it was revoked")
        }
        return key
    }

    /// The token of an `Authorization: Bearer TOKEN` header; the scheme's name is read
    /// in any case, as RFC 9110 says (`bearer`, `BEARER`).
    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// The dashboard's HTML pages (`/` and `/ui/…`), which a browser opens.
    static func isPage(_ path: String) -> Bool { path == "/" || path.hasPrefix("/ui/") }

    /// The request as logged: a `key` in the query shown as `…`.
    static func redacted(_ uri: URI) -> String {
        guard let query = uri.query, query.contains("key=") else { return uri.path + (uri.query.map { "?" + $0 } ?? "") }
        let parts = query.split(separator: "&").map { $0.hasPrefix("key=") ? "key=…" : String($0) }
        return uri.path + "?" + parts.joined(separator: "&")
    }
}
#endif
