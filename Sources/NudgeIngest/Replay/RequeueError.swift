import NudgeCore
import NudgeSpool

/// Why `requeue` changed nothing.
package enum RequeueError: Error, Sendable, CustomStringConvertible {
    case spool(SpoolError)
    case malformed(path: String, line: Int, problem: String)

    package var description: String {
        switch self {
        case .spool(let error): "\(error)"
        case .malformed(let path, let line, let problem):
            "\(path):\(line) is not a rejected record this tool wrote (\(problem)); nothing was requeued"
        }
    }
}
