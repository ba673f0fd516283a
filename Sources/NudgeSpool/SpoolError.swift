import NudgeCore
import NudgeSystem

/// Why the spool could not be opened, continued or written. Every case stops the run
/// before anything half-done becomes visible (exit 1).
public enum SpoolError: Error, Sendable, CustomStringConvertible {
    case cannotCreate(path: String, error: SystemError)
    case cannotWrite(path: String, error: SystemError)
    case cannotRead(path: String, error: SystemError)
    /// Nothing at `path`, or an empty folder: no run has written a spool there.
    case noSpool(path: String)
    /// `path` holds other things than a spool (no `state/ledger.ndjson`, no spool files).
    case notASpool(path: String)
    /// Another process holds the spool's lock for `command` (`run` or `replay`).
    case inUse(path: String, command: String, holder: String)
    /// A state file, the ledger or a committed spool file is not what the ledger says.
    case damaged(path: String, problem: String)
    /// Inputs the ledger knows under the same path, with other content.
    case changedInputs([ChangedInput])

    /// What went wrong and what to do, for a person.
    public var description: String {
        switch self {
        case .cannotCreate(let path, let error) where error.isPermissionDenied:
            return "permission denied: cannot create \(path). Run as the user who owns the spool, or name "
                + "another --spool."
        case .cannotCreate(let path, let error):
            return "cannot create \(path): \(error)"
        case .cannotWrite(let path, let error):
            return "cannot write \(path): \(error). Nothing of the input being "
                + "processed was committed; free the space and run the same command again to continue."
        case .cannotRead(let path, let error) where error.isPermissionDenied:
            return "permission denied: cannot read \(path). A spool's files are readable only by the user "
                + "whose run wrote them (folders 0700, files 0600): run this as that user."
        case .cannotRead(let path, let error):
            return "cannot read \(path): \(error)"
        case .noSpool(let path):
            return "no spool at \(path): run `nudge-ingest run --spool \(path.shellQuoted) INPUT…` first "
                + "(or name the spool a run wrote with --spool)."
        case .notASpool(let path):
            return "\(path) is not a spool: it has no state/ledger.ndjson. Name the folder that "
                + "`nudge-ingest run --spool DIR` wrote."
        case .inUse(let path, let command, let holder):
            return "spool \(path) is in use by another nudge-ingest \(command) (\(holder)); "
                + "wait for it to finish, or use another --spool."
        case .damaged(let path, let problem):
            return """
                \(path) is damaged: \(problem). The spool's state cannot be trusted, so nothing \
                was changed. Restore the spool from a backup, or start a new spool; see \
                "Recovery" in the README.
                """
        case .changedInputs(let changes):
            let list = changes.prefix(10).map { "  \($0.path): \($0.change)" }.joined(separator: "\n")
            let more = changes.count > 10 ? "\n  … and \(changes.count - 10) more" : ""
            return """
                \(changes.count) input\(changes.count == 1 ? " has" : "s have") changed since \
                \(changes.count == 1 ? "it was" : "they were") committed to this spool:
                \(list)\(more)
                Nothing was processed. Pass --reprocess-changed to process the new content as new \
                inputs (records whose messageId was already seen are then dropped as \
                duplicate_message_id), or restore the original files.
                """
        }
    }
}

/// An input whose path the ledger knows with other content.
public struct ChangedInput: Sendable {
    /// The input as this run reached it; the ledger holds other content under that path.
    public var path: String
    /// What differs, for a person: sizes or fingerprints, and the commit.
    public var change: String

    package init(path: String, change: String) {
        self.path = path
        self.change = change
    }
}
