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
#endif
