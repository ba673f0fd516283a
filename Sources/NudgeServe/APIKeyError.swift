// With the package's HTTP trait (Package.swift), like the rest of serve.
#if HTTP
import Crypto
import NudgeCore
import NudgeSpool
import NudgeSystem

/// Why the keys could not be read or changed.
package enum APIKeyError: Error, Sendable, CustomStringConvertible {
    case spool(SpoolError)
    case damaged(path: String, line: Int)
    case noSuchKey(String)

    package var description: String {
        switch self {
        case .spool(let error): "\(error)"
        case .damaged(let path, let line): "\(path): line \(line) is not a key record; remove the line or restore the file"
        case .noSuchKey(let id): "no key \(id) (nudge-ingest keys list shows them)"
        }
    }
}
#endif
