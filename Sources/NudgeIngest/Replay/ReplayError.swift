import NudgeSpool

/// Why a replay could not go on: the spool could not be read or written. (Answers
/// from Nudge never throw: they end the replay through ``ReplayEnd``.)
public enum ReplayError: Error, Sendable, CustomStringConvertible {
    case spool(SpoolError)
    case reading(SpoolReadError)
    /// The spool's replay progress is another destination's, or another spool's.
    case refused(ReplayRefusal)

    /// What went wrong, for a person.
    public var description: String {
        switch self {
        case .spool(let error): "\(error)"
        case .reading(let error): "\(error)"
        case .refused(let refusal): "\(refusal)"
        }
    }
}
