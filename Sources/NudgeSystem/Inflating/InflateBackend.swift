import CIsal

/// Which library inflates gzip inputs.
///
/// Both backends read whole inputs to the same bytes. At a broken stream ISA-L alone
/// may stop a little short of zlib, with other messages (see ``IsalInflater``); so
/// ``InputReader`` then has zlib read the file again and report the fault, and a
/// regular file gives the same bytes, fault, offset and fingerprint with either
/// backend. ISA-L's igzip is about twice as fast where installed.
public enum InflateBackend: String, Sendable, CaseIterable {
    /// ISA-L when ``isalAvailable``, zlib otherwise.
    case auto
    /// zlib's `inflate`: always there.
    case zlib
    /// ISA-L's igzip (Debian: libisal-dev to build, libisal2 to run).
    case isal

    /// Whether this process can inflate with ISA-L: the package was built with ISA-L's
    /// headers and `libisal.so.2` loaded.
    package static var isalAvailable: Bool { nudge_isal_available() != 0 }

    /// Why ISA-L cannot be used here, or `nil` when it can.
    package static var isalUnavailableReason: String? {
        nudge_isal_unavailable_reason().map { String(cString: $0) }
    }

    /// The backend that will inflate: `.zlib` or `.isal`, never `.auto`.
    ///
    /// A front end should call this while it validates its options, so that an
    /// unusable `--inflate isal` is reported before any input is read.
    /// - Throws: ``InflateBackendError/isalUnavailable(_:)`` for `.isal` when
    ///   ISA-L cannot be used in this process.
    package func resolved() throws(InflateBackendError) -> InflateBackend {
        switch self {
        case .zlib: return .zlib
        case .auto: return Self.isalAvailable ? .isal : .zlib
        case .isal:
            if let reason = Self.isalUnavailableReason { throw .isalUnavailable(reason) }
            return .isal
        }
    }
}

extension InflateBackend {
    /// A new inflater of this backend (`.auto` resolved).
    /// - Throws: ``InflateBackendError`` when the backend is ISA-L and ISA-L is unavailable.
    package func makeInflater(outputCapacity: Int) throws(InflateBackendError) -> any GzipStreamInflater {
        switch try resolved() {
        case .isal: return try IsalInflater(outputCapacity: outputCapacity)
        default: return GzipInflater(outputCapacity: outputCapacity)
        }
    }
}
