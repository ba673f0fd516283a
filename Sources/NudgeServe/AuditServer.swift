// With the package's HTTP trait (Package.swift): Hummingbird builds on SwiftNIO.
#if HTTP
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import NudgeCore
import NudgeIngest
import NudgeSpool
import NudgeSystem

/// `nudge-ingest serve`: the audit of a spool as an authenticated HTTP API, in the shape
/// of the elNudge Nudges API (`{"data", "next_cursor", "has_more"}` pages, `Bearer
/// sk_live_…` keys, `{"error": {"code", "message"}}`), over Hummingbird.
///
/// It reads only what the ledger has committed, as `audit` does, without the spool's
/// lock: a `run` or `replay` may work on the spool meanwhile, and `serve` changes
/// nothing in it. The keys are read again at every request, so a revoked key stops
/// working at once.
public struct AuditServer: Sendable {
    public let spool: String
    /// Where the one line per request goes (the key's id, never its secret).
    let log: @Sendable (String) -> Void

    public static let defaultLimit = 50
    public static let maximumLimit = 200

    public init(spool: String, log: @escaping @Sendable (String) -> Void) {
        self.spool = spool
        self.log = log
    }

    /// Serves on `host:port` until the process is asked to stop (SIGINT, SIGTERM);
    /// `onListening` gets the port bound (the one asked, or the one given for 0).
    public func run(host: String, port: Int, onListening: @escaping @Sendable (Int) -> Void) async throws {
        var logger = Logger(label: "nudge-ingest serve")
        logger.logLevel = .critical
        let app = Application(
            router: router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "nudge-ingest"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) },
            logger: logger)
        try await app.runService()
    }

    /// The routes, behind the key check and the request log.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: KeyCheck(spool: spool, log: log))
        // Every route reads spool files with blocking calls: on NIO's thread pool, never on
        // the threads that serve connections and run tasks.
        router.get("v1/drops") { request, _ in try await Self.offload { try self.drops(request) } }
        router.get("v1/drops/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            return try await Self.offload { try self.drop(id: id) }
        }
        router.post("v1/preview") { request, _ in
            let body = try await request.body.collect(upTo: 16 << 20)
            let ndjson = request.headers[.contentType]?.hasPrefix("application/x-ndjson") == true
            return try await Self.offload { try self.preview(Array(buffer: body), ndjson: ndjson) }
        }
        router.get("v1/report") { _, _ in
            try await Self.offload { try self.json { () throws(AuditError) in try AuditReport.make(spool: spool).json } }
        }
        router.get("v1/collisions") { _, _ in
            try await Self.offload {
                try self.json { () throws(AuditError) in
                    do throws(SpoolError) { return try UserIDCollisions.make(spool: spool).json } catch { throw .spool(error) }
                }
            }
        }
        router.get("v1/rejected") { request, _ in try await Self.offload { try self.rejected(request) } }
        router.get("/") { _, _ in try await Self.offload { try self.dashboard() } }
        return router
    }

    /// Runs blocking work on NIO's thread pool.
    static func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }

    /// `GET /`: the audit report as its HTML page.
    func dashboard() throws -> Response {
        let html = try result { () throws(AuditError) in
            let report = try AuditReport.make(spool: spool)
            do throws(SpoolError) { return report.html(collisions: try UserIDCollisions.make(spool: spool)) } catch {
                throw .spool(error)
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    // MARK: Routes

    /// `GET /v1/drops`: a page of dropped records, `audit list`'s filters.
    func drops(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        var filter = AuditFilter()
        for reason in query[values: "reason"] {
            guard let code = ReasonCode(rawValue: String(reason)) else {
                throw APIError.badParameter("reason", "\(reason) is not a reason code; one of "
                    + ReasonCode.allCases.map(\.rawValue).joined(separator: ", "))
            }
            filter.reasons.append(code)
        }
        filter.types = query[values: "type"].map(String.init)
        filter.events = query[values: "event"].map(String.init)
        filter.users = query[values: "user"].map(String.init)
        filter.files = query[values: "file"].map(String.init)
        for (name, isEnd) in [("from", false), ("to", true)] {
            guard let text = query[Substring(name)] else { continue }
            guard let time = AuditFilter.parseTime(String(text), isEnd: isEnd) else {
                throw APIError.badParameter(name, "\(text) is not YYYY-MM-DD or an RFC 3339 date-time")
            }
            if isEnd { filter.to = time } else { filter.from = time }
        }
        var limit = Self.defaultLimit
        if let text = query["limit"] {
            guard let value = Int(text), (1...Self.maximumLimit).contains(value) else {
                throw APIError.badParameter("limit", "must be a whole number from 1 to \(Self.maximumLimit)")
            }
            limit = value
        }
        if let order = query["order"], order != "asc" {
            throw APIError.badParameter("order", order == "desc"
                ? "desc is not served yet: page with asc (the spool's order)" : "must be asc")
        }
        let cursor = query["cursor"].map(String.init)
        let page: AuditPage
        do { page = try AuditPage.make(spool: spool, filter: filter, limit: limit, cursor: cursor) } catch {
            if case .badCursor(let why) = error { throw APIError.badParameter("cursor", why) }
            throw APIError.spool(error.description)
        }
        return Self.jsonResponse(page.jsonWithIDs)
    }

    /// `GET /v1/drops/{id}`: one dropped record.
    func drop(id text: String) throws -> Response {
        guard let id = DropID(text) else { throw APIError.badParameter("id", "\(text) is not a record id (COMMIT-LINE)") }
        let found: [UInt8]?
        do { found = try AuditPage.record(spool: spool, id: id) } catch { throw APIError.spool(error.description) }
        guard let found else { throw APIError.notFound("no dropped record \(id)") }
        var out = JSONWriter()
        out.beginObject()
        AuditPage.withID(found, id).withUnsafeBytes { out.json("data", $0) }
        out.endObject()
        return Self.jsonResponse(out.text)
    }

    /// `POST /v1/preview`: `{"event": {…}}`, or NDJSON of several events decided in order.
    func preview(_ body: [UInt8], ndjson: Bool) throws -> Response {
        var preview: Preview
        do { preview = try Preview(spool: spool, sourceName: "preview") } catch { throw APIError.spool(error.description) }
        var outcomes: [Preview.Outcome] = []
        if ndjson {
            body.withUnsafeBytes { bytes in
                preview.consume(bytes) { outcomes.append($0) }
                preview.finish { outcomes.append($0) }
            }
        } else {
            let event: [UInt8]? = body.withUnsafeBytes { bytes in
                var found: Range<Int>?
                guard (try? JSONMembers.forEach(in: bytes, object: 0..<bytes.count, { key, value in
                    if key.elementsEqual("event".utf8) { found = value }
                })) != nil, let found else { return nil }
                return Array(bytes[found])
            }
            guard let event, event.first == 0x7B else {
                throw APIError.badParameter("event", "send {\"event\": {…}} (an object) as JSON, or events as application/x-ndjson")
            }
            outcomes.append(preview.decide(event: event))
        }
        var out = JSONWriter()
        out.beginObject()
        if ndjson { out.beginArray("data") }
        for outcome in outcomes { Self.write(outcome, key: ndjson ? nil : "data", to: &out) }
        if ndjson { out.endArray() }
        out.endObject()
        return Self.jsonResponse(out.text)
    }

    /// `{"would_accept", "record", "reason", "detail"}` of one outcome.
    static func write(_ outcome: Preview.Outcome, key: String?, to out: inout JSONWriter) {
        outcome.record.withUnsafeBytes { bytes in
            var members: [String: Range<Int>] = [:]
            try? JSONMembers.forEach(in: bytes, object: 0..<bytes.count) { name, value in
                members[String(decoding: name, as: UTF8.self)] = value
            }
            out.beginObject(key)
            out.value("would_accept", outcome.isAccepted)
            out.json("record", bytes)
            out.value("reason", outcome.isAccepted ? nil : DroppedRecord.string(members["reason"], in: bytes))
            out.value("detail", outcome.isAccepted ? nil : DroppedRecord.string(members["detail"], in: bytes))
            out.endObject()
        }
    }

    /// `GET /v1/rejected`: the records Nudge refused, as replay keeps them, a page at a
    /// time (`limit`, and `cursor`: the number of records before the page).
    func rejected(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        var limit = Self.defaultLimit
        if let text = query["limit"] {
            guard let value = Int(text), (1...Self.maximumLimit).contains(value) else {
                throw APIError.badParameter("limit", "must be a whole number from 1 to \(Self.maximumLimit)")
            }
            limit = value
        }
        var start = 0
        if let text = query["cursor"] {
            guard text.hasPrefix("r1."), let value = Int(text.dropFirst(3)), value >= 0 else {
                throw APIError.badParameter("cursor", "\(text) is not a cursor this endpoint gave")
            }
            start = value
        }
        let lines: [ArraySlice<UInt8>]
        do { lines = try ReplayCheckpoint.saved(inSpool: spool).rejectedLines(inSpool: spool) } catch {
            throw APIError.spool(error.description)
        }
        let page = lines.dropFirst(start).prefix(limit)
        let next = start + page.count < lines.count ? "r1.\(start + page.count)" : nil
        var out = JSONWriter()
        out.beginObject()
        out.beginArray("data")
        for line in page { line.withUnsafeBytes { out.json(nil, $0) } }
        out.endArray()
        out.value("next_cursor", next)
        out.value("has_more", next != nil)
        out.endObject()
        return Self.jsonResponse(out.text)
    }

    // MARK: Answers

    func result(_ make: () throws(AuditError) -> String) throws -> String {
        do { return try make() } catch { throw APIError.spool(error.description) }
    }

    func json(_ make: () throws(AuditError) -> String) throws -> Response {
        Self.jsonResponse(try result(make))
    }

    static func jsonResponse(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// An answer other than 200, as `{"error": {"code", "message"}}`.
enum APIError: Error, HTTPResponseError {
    case badParameter(String, String)
    case unauthorized(String)
    case forbidden(String)
    case notFound(String)
    case methodNotAllowed(allowed: String)
    case spool(String)

    var status: HTTPResponse.Status {
        switch self {
        case .badParameter: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .spool: .serviceUnavailable
        }
    }

    var code: String {
        switch self {
        case .badParameter: "bad_parameter"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .spool: "spool_unavailable"
        }
    }

    var message: String {
        switch self {
        case .badParameter(let name, let why): "\(name): \(why)"
        case .unauthorized(let why), .forbidden(let why), .notFound(let why), .spool(let why): why
        case .methodNotAllowed(let allowed): "this path answers \(allowed) only"
        }
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var out = JSONWriter()
        out.beginObject()
        out.beginObject("error")
        out.value("code", code)
        out.value("message", message)
        out.endObject()
        out.endObject()
        var response = AuditServer.jsonResponse(out.text, status: status)
        if case .unauthorized = self { response.headers[.wwwAuthenticate] = "Bearer" }
        if case .methodNotAllowed(let allowed) = self { response.headers[.allow] = allowed }
        return response
    }
}

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
            log("\(Timestamp.now.isoString) \(request.method) \(request.uri) \(status) \(format1(milliseconds)) ms \(keyID)")
        }
        do {
            if let allowed = Self.method(for: request.uri.path), request.method != allowed {
                throw APIError.methodNotAllowed(allowed: allowed.rawValue)
            }
            let key = try Self.key(of: request, spool: spool)
            keyID = key.id
            if key.kind == .test && !(request.method == .post && request.uri.path == "/v1/preview") {
                throw APIError.forbidden("\(key.id) is a test key: it may only POST /v1/preview")
            }
            let response = try await next(request, context)
            status = Int(response.status.code)
            return response
        } catch let error as any HTTPResponseError {
            status = Int(error.status.code)
            throw error
        }
    }

    /// The one method a served path answers (nil for a path that is not served: 404).
    static func method(for path: String) -> HTTPRequest.Method? {
        switch path {
        case "/", "/v1/drops", "/v1/report", "/v1/collisions", "/v1/rejected": .get
        case "/v1/preview": .post
        case _ where path.hasPrefix("/v1/drops/") && !path.dropFirst("/v1/drops/".count).contains("/"): .get
        default: nil
        }
    }

    static func key(of request: Request, spool: String) throws(APIError) -> APIKey {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw .unauthorized("send an API key: Authorization: Bearer sk_live_… (nudge-ingest keys create)")
        }
        let store: APIKeyStore
        do { store = try APIKeyStore(spool: spool) } catch { throw .spool(error.description) }
        guard let key = store.key(forSecret: String(header.dropFirst("Bearer ".count))) else {
            throw .unauthorized("this API key is not one of this spool's, or it was revoked")
        }
        return key
    }
}
#endif
