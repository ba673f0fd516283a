import NudgeSpool

/// Why an audit, a list or a redrive could not be made.
public enum AuditError: Error, Sendable, CustomStringConvertible {
    case spool(SpoolError)
    case reading(SpoolReadError)
    case badCursor(String)
    /// A write of `redrive` failed; nothing of it was committed.
    case writing(SpoolError)

    /// What went wrong, for a person.
    public var description: String {
        switch self {
        case .writing(let error): "\(error)"
        case .spool(let error): "\(error)"
        case .reading(let error): "\(error)"
        case .badCursor(let why): "--cursor: \(why)"
        }
    }
}
