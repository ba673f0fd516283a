import NudgeCore

/// Why a replay (or requeue) will not use the checkpoint it found: each says what
/// happened and what to do. Nothing is sent or changed.
public enum ReplayRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The checkpoint is another destination's progress.
    case otherDestination(spool: String, saved: ReplayDestination, asked: ReplayDestination, askedWasKept: Bool)
    /// A checkpoint from before destinations were recorded, with progress in it.
    case unboundCheckpoint(spool: String, asked: ReplayDestination, settled: Int)
    /// The checkpoint counts records of a spool that was since removed and made again.
    case otherSpool(spool: String, savedFirstCommitAt: String, firstCommitAt: String)
    /// The checkpoint vouches for more accepted records than the spool holds.
    case pastTheEnd(spool: String, counted: Int, accepted: Int)

    /// What happened and what to do, for a person; it ends "Nothing was sent".
    public var description: String {
        switch self {
        case .otherDestination(let spool, let saved, let asked, let askedWasKept):
            return "the replay progress of spool \(spool.shellQuoted) belongs to \(saved), not to \(asked). "
                + "Each destination gets the whole spool: add --switch-destination to "
                + (askedWasKept ? "go back to \(asked.endpoint), resuming its own progress"
                                : "start delivering it to \(asked.endpoint) from its first record")
                + "; the progress to \(saved.endpoint) is kept and resumes when you switch back to it. "
                + "Nothing was sent"
        case .unboundCheckpoint(let spool, let asked, let settled):
            return "\((spool + "/replay/checkpoint.json").shellQuoted) was written by an earlier nudge-ingest that did not "
                + "record where it sent; it has \(group(settled)) records settled. If that replay went to "
                + "\(asked.endpoint) with this key, add --adopt-checkpoint to continue it; to deliver the whole spool "
                + "to \(asked.endpoint) instead, add --switch-destination (the old progress is kept apart). Nothing was sent"
        case .otherSpool(let spool, let saved, let current):
            return "\((spool + "/replay/checkpoint.json").shellQuoted) counts the records of an earlier spool (first commit "
                + "\(saved)), not of this one (first commit \(current.isEmpty ? "none yet" : current)): the spool was "
                + "started over. To deliver this spool from its first record, remove its replay progress: "
                + "rm -rf \((spool + "/replay").shellQuoted) \((spool + "/rejected").shellQuoted). Nothing was sent"
        case .pastTheEnd(let spool, let counted, let accepted):
            return "\((spool + "/replay/checkpoint.json").shellQuoted) counts \(group(counted)) accepted records, but the "
                + "spool holds \(group(accepted)): the checkpoint belongs to another (or a larger) spool. To deliver this "
                + "spool from its first record, remove its replay progress: "
                + "rm -rf \((spool + "/replay").shellQuoted) \((spool + "/rejected").shellQuoted). Nothing was sent"
        }
    }
}
