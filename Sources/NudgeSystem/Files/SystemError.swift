import Glibc

/// A system call's failure: its `errno`, typed, so that the layers above compare and
/// report it without importing the C library.
public struct SystemError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The `errno` value.
    public let code: Int32

    package init(code: Int32) {
        self.code = code
    }

    /// The C library's text for the error (`strerror`), such as "No such file or directory".
    public var description: String { String(cString: strerror(code)) }

    /// The calling thread's `errno` now: read it right after the call that failed.
    package static var current: SystemError { SystemError(code: errno) }

    /// `EACCES` or `EPERM`: the user may not do this, whatever else is true.
    package var isPermissionDenied: Bool { code == EACCES || code == EPERM }

    /// Refused, no route, or the host down: nothing at that address would talk
    /// (`ECONNREFUSED`, `EHOSTUNREACH`, `ENETUNREACH`, `EHOSTDOWN`).
    package var isUnreachable: Bool { [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EHOSTDOWN].contains(code) }
    package static let connectionRefused = SystemError(code: ECONNREFUSED)

    package static let noSuchFile = SystemError(code: ENOENT)
    package static let notADirectory = SystemError(code: ENOTDIR)
    package static let alreadyExists = SystemError(code: EEXIST)
    package static let interrupted = SystemError(code: EINTR)
    package static let wouldBlock = SystemError(code: EWOULDBLOCK)
    package static let inputOutput = SystemError(code: EIO)
    package static let invalidArgument = SystemError(code: EINVAL)
    package static let staleFile = SystemError(code: ESTALE)
    package static let addressInUse = SystemError(code: EADDRINUSE)
    package static let addressNotAvailable = SystemError(code: EADDRNOTAVAIL)
}
