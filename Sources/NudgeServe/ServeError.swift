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

/// Why `serve` could not start.
package enum ServeError: Error, Sendable, CustomStringConvertible {
    case cannotListen(address: String, SystemError)

    package var description: String {
        switch self {
        case .cannotListen(let address, let error) where error == .addressInUse:
            "\(address) is in use; pick another with --listen (a port of 0 takes any free one)"
        case .cannotListen(let address, let error) where error.isPermissionDenied:
            "may not listen on \(address) (\(error)): ports below 1024 need privileges; pick another with --listen"
        case .cannotListen(let address, let error) where error == .addressNotAvailable:
            "cannot listen on \(address): no network interface of this machine has that address; pick another with --listen"
        case .cannotListen(let address, let error):
            "cannot listen on \(address): \(error); pick another with --listen"
        }
    }
}
#endif
