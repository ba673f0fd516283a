import NudgeCore
import NudgeSystem

/// Why a remote input could not be read: the store refused it, could not be reached
/// after the retries, or the object changed while it was read. Not a fault of the
/// input's bytes, so the run stops with the input uncommitted and the same command
/// continues from it.
package struct RemoteReadError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String

    package init(message: String) {
        self.message = message
    }

    package var description: String { message }
}
