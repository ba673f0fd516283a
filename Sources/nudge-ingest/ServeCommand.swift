import ArgumentParser
import NudgeCore
import NudgeIngest
import NudgeSystem
#if HTTP
import NudgeServe
#endif

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the audit of a spool as an authenticated HTTP API, for the people who must look at what was dropped.",
        discussion: """
            Routes (JSON; every request needs Authorization: Bearer sk_live_…):
              GET  /v1/drops          dropped records, audit list's filters: reason, type,
                                      event, user, file, from, to; limit (default 50, at
                                      most 200), cursor → {"data", "next_cursor", "has_more"};
                                      each record with its stable "id"
              GET  /v1/drops/ID       one dropped record
              POST /v1/preview        {"event": {…}} (or application/x-ndjson, several) →
                                      what run would decide, changing nothing; test keys
                                      (sk_test_…) may call this alone
              GET  /v1/report         the audit report
              GET  /v1/collisions     userIds that Nudge would merge
              GET  /v1/rejected       what Nudge refused during replay
              GET  /                  the report as an HTML page
            Errors are {"error": {"code", "message"}}: 400 names the parameter (also one
            the route does not take: a typo is never ignored), 401 without a known key
            (the scheme, Bearer, in any case), 403 for a test key, 404 (also a path not
            served), 503 when the spool cannot be read.

            Keys come from `nudge-ingest keys create --spool DIR (--live|--test)`; serve
            reads them again at every request, so `keys revoke` takes effect at once.

            It warns at start when the spool has no key yet, and when --listen reaches
            beyond loopback: it speaks plain HTTP, so put it behind a TLS-terminating
            proxy first. An address in use ends it with exit 1.

            serve reads only what the ledger has committed, without the spool's lock: a
            run or a replay may work on the same spool meanwhile. It changes nothing in
            the spool. One line per request goes to standard error, with the key's id,
            never the key. Ctrl-C stops it.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The spool to serve.", valueName: "DIR"))
    var spool: String = "spool"

    @Option(name: .long, help: ArgumentHelp(
        "Address to listen on (port 0: any free port, printed at start).", valueName: "HOST:PORT"))
    var listen: String = "127.0.0.1:8080"

    func validate() throws {
        guard builtWithHTTP else {
            throw ValidationError("This nudge-ingest was built without its HTTP trait (--disable-default-traits), so it cannot serve; build it with the default traits.")
        }
        guard address != nil else { throw ValidationError("--listen must be HOST:PORT (127.0.0.1:8080, 0.0.0.0:8080, [::1]:8080).") }
    }

    /// `--listen` as host and port.
    var address: (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (0...65_535).contains(port) else { return nil }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    #if HTTP
    func run() async throws {
        // The spool must be one, and readable, before anything is served.
        do { _ = try DroppedSpoolScan(spool: spool) } catch { throw fail(error, progress: nil) }
        let (host, port) = address!
        for warning in warnings(host: host) { FileStream.standardError.write("nudge-ingest serve: warning: \(warning)\n") }
        let server = AuditServer(spool: spool) { line in FileStream.standardError.write(line + "\n") }
        do {
            try await server.run(host: host, port: port) { bound in
                FileStream.standardError.write("nudge-ingest serve: spool \(spool) on http://\(AuditServer.address(host: host, port: bound))/ (Ctrl-C stops)\n")
            }
        } catch let error as ServeError {
            throw fail(error, progress: nil)
        }
    }

    /// What an operator should know before the first request: no key opens anything yet,
    /// or the server is reachable from other machines over plain HTTP.
    func warnings(host: String) -> [String] {
        var warnings: [String] = []
        if let store = try? APIKeyStore(spool: spool), !store.keys.contains(where: \.isActive) {
            warnings.append("this spool has no API key yet, so every request will be refused (401); "
                            + "make one with: nudge-ingest keys create --spool \(spool.shellQuoted) --live")
        }
        if !AuditServer.isLoopback(host) {
            warnings.append("listening on \(host), beyond loopback: other machines can reach this server, and it speaks "
                            + "plain HTTP (keys and personal data unencrypted); put it behind a TLS-terminating proxy, "
                            + "or listen on 127.0.0.1")
        }
        return warnings
    }
    #else
    func run() async throws {
        preconditionFailure("validate() refuses serve without the HTTP trait")
    }
    #endif
}
