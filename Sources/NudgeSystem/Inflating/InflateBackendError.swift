import CIsal

/// Why an inflate backend cannot be used.
package enum InflateBackendError: Error, Equatable, Sendable, CustomStringConvertible {
    /// ISA-L was asked for but cannot be used in this process; the reason says why.
    case isalUnavailable(String)

    /// A sentence for the command line.
    package var message: String {
        switch self {
        case .isalUnavailable(let reason):
            return "the ISA-L inflate backend is unavailable: \(reason); use --inflate zlib or auto"
        }
    }

    package var description: String { message }
}
