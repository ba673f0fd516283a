// With the package's HTTP trait (Package.swift): Hummingbird builds on SwiftNIO.
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

/// `nudge-ingest serve`: the audit of a spool as an authenticated HTTP API, in the shape
/// of the elNudge Nudges API (`{"data", "next_cursor", "has_more"}` pages, `Bearer
/// sk_live_…` keys, `{"error": {"code", "message"}}`), over Hummingbird.
///
/// It reads only what the ledger has committed, as `audit` does, without the spool's
/// lock: a `run` or `replay` may work on the spool meanwhile, and `serve` changes
/// nothing in it. The keys are read again at every request, so a revoked key stops
/// working at once; the report and the collisions are made again when the ledger has a
/// new commit.
package struct AuditServer: Sendable {
    package let spool: String
    /// Where the one line per request goes (the key's id, never its secret).
    let log: @Sendable (String) -> Void
    /// The report and collisions `GET /v1/report`, `/v1/collisions` and the dashboard
    /// give, made again after a commit.
    let audit: AuditCache

    package static let defaultLimit = 50
    package static let maximumLimit = 200

    package init(spool: String, log: @escaping @Sendable (String) -> Void) {
        self.spool = spool
        self.log = log
        audit = AuditCache(spool: spool)
    }

    /// Serves on `host:port` until the process is asked to stop (SIGINT, SIGTERM);
    /// `onListening` gets the port bound (the one asked, or the one given for 0). An
    /// address that cannot be listened on (in use, not this machine's, a port below
    /// 1024) is a ``ServeError``.
    package func run(host: String, port: Int, onListening: @escaping @Sendable (Int) -> Void) async throws {
        var logger = Logger(label: "nudge-ingest serve")
        logger.logLevel = .critical
        let app = Application(
            router: router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "nudge-ingest"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) },
            logger: logger)
        do {
            try await app.runService()
        } catch let error as IOError {
            throw ServeError.cannotListen(address: Self.address(host: host, port: port), SystemError(code: error.errnoCode))
        }
    }

    /// `host:port` as a URL writes it (`[::1]:8080` for IPv6).
    package static func address(host: String, port: Int) -> String {
        (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }

    /// Whether `host` reaches only this machine (127.0.0.0/8, `::1`, `localhost`).
    package static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The routes, behind the key check and the request log.
    package func router() -> Router<BasicRequestContext> {
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
            try await Self.offload { try self.json { () throws(AuditError) in try self.audit.report().json } }
        }
        router.get("v1/collisions") { _, _ in
            try await Self.offload { try self.json { () throws(AuditError) in try self.audit.userIDCollisions().json } }
        }
        router.get("v1/rejected") { request, _ in try await Self.offload { try self.rejected(request) } }
        router.get("/") { request, _ in
            // Signing in from a browser: the key goes into a cookie, and out of the address bar.
            if request.uri.queryParameters["key"] != nil { return Self.signedIn(request) }
            return try await Self.offload { try self.dashboard() }
        }
        router.get("ui/drops") { request, _ in try await Self.offload { DashboardPages.list(try self.page(for: request), request: request) } }
        router.get("ui/drops/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            return try await Self.offload { DashboardPages.record(try self.record(id: id)) }
        }
        return router
    }

    /// Runs blocking work on NIO's thread pool.
    static func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }

    /// `GET /`: the audit report as its HTML page.
    func dashboard() throws -> Response {
        let html = try result { () throws(AuditError) in
            try audit.report().html(collisions: try audit.userIDCollisions(), drillDown: "/ui/drops")
        }
        return Self.htmlResponse(html)
    }

    static func htmlResponse(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    // MARK: Routes

    /// `GET /v1/drops`: a page of dropped records, `audit list`'s filters.
    func drops(_ request: Request) throws -> Response {
        Self.jsonResponse(try page(for: request).jsonWithIDs)
    }

    /// The page of dropped records a request's parameters select: the filters of `audit
    /// list`, `limit`, `cursor` and `order`, each checked (400 naming it).
    func page(for request: Request) throws -> AuditPage {
        let query = request.uri.queryParameters
        var filter = AuditFilter()
        for reason in query[values: "reason"] {
            guard let code = ReasonCode(rawValue: String(reason)) else {
                throw APIError.badParameter("reason", "\(reason) is not a reason code; one of "
                    + ReasonCode.allCases.map(\.rawValue).joined(separator: ", "))
            }
            filter.reasons.append(code)
        }
        func values(_ name: String) throws -> [String] {
            let given = query[values: Substring(name)]
            if given.contains(where: \.isEmpty) { throw APIError.badParameter(name, "must not be empty") }
            return given.map(String.init)
        }
        filter.types = try values("type")
        filter.events = try values("event")
        filter.users = try values("user")
        filter.files = try values("file")
        for (name, isEnd) in [("from", false), ("to", true)] {
            guard let text = query[Substring(name)] else { continue }
            guard let time = AuditFilter.parseTime(String(text), isEnd: isEnd) else {
                throw APIError.badParameter(name, "\(text) is not YYYY-MM-DD or an RFC 3339 date-time")
            }
            if isEnd { filter.to = time } else { filter.from = time }
        }
        let limit = try Self.limit(query)
        var descending = false
        if let order = query["order"] {
            guard order == "asc" || order == "desc" else {
                throw APIError.badParameter("order", "must be asc (the spool's order, oldest first) or desc (newest first)")
            }
            descending = order == "desc"
        }
        let cursor = query["cursor"].map(String.init)
        do {
            return descending
                ? try AuditPage.makeDescending(spool: spool, filter: filter, limit: limit, cursor: cursor)
                : try AuditPage.make(spool: spool, filter: filter, limit: limit, cursor: cursor)
        } catch {
            if case .badCursor(let why) = error { throw APIError.badParameter("cursor", why) }
            throw APIError.spool(error.description)
        }
    }

    /// `GET /v1/drops/{id}`: one dropped record.
    func drop(id text: String) throws -> Response {
        let (id, found) = try record(id: text)
        var out = JSONWriter()
        out.beginObject()
        AuditPage.withID(found, id).withUnsafeBytes { out.json("data", $0) }
        out.endObject()
        return Self.jsonResponse(out.text)
    }

    /// The dropped record `text` names (400 for what is not an id, 404 for none).
    func record(id text: String) throws -> (DropID, [UInt8]) {
        guard let id = DropID(text) else { throw APIError.badParameter("id", "\(text) is not a record id (COMMIT-LINE)") }
        let found: [UInt8]?
        do { found = try AuditPage.record(spool: spool, id: id) } catch { throw APIError.spool(error.description) }
        guard let found else { throw APIError.notFound("no dropped record \(id)") }
        return (id, found)
    }

    /// `GET /?key=sk_…`, the key valid (the middleware checked it): the key set as a
    /// cookie that only this server's pages send (HttpOnly, SameSite=Strict, 8 hours),
    /// and a redirect to `/` without it in the address.
    static func signedIn(_ request: Request) -> Response {
        let key = request.uri.queryParameters["key"].map(String.init) ?? ""
        return Response(status: .seeOther, headers: [
            .location: "/", .setCookie: "\(KeyCheck.cookie)=\(key); Path=/; Max-Age=28800; HttpOnly; SameSite=Strict",
        ])
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
        for outcome in outcomes { outcome.write(ndjson ? nil : "data", to: &out) }
        if ndjson { out.endArray() }
        out.endObject()
        return Self.jsonResponse(out.text)
    }

    /// `GET /v1/rejected`: the records Nudge refused, as replay keeps them, a page at a
    /// time (`limit`, and `cursor`: the number of records before the page).
    func rejected(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        let limit = try Self.limit(query)
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
        return Self.jsonResponse(AuditPage.pageJSON(page, nextCursor: next))
    }

    /// `limit`: 1 to ``maximumLimit``, ``defaultLimit`` when not given.
    static func limit(_ query: FlatDictionary<Substring, Substring>) throws -> Int {
        guard let text = query["limit"] else { return defaultLimit }
        guard let value = Int(text), (1...maximumLimit).contains(value) else {
            throw APIError.badParameter("limit", "must be a whole number from 1 to \(maximumLimit)")
        }
        return value
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

#endif
