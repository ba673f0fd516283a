import NudgeCore
import NudgeSpool
import NudgeSystem

/// The inputs a command line names, and what the directory walks left out, so that
/// the run's summary can say so.
package struct Discovery: Sendable {
    /// What to read, in reading order.
    package var inputs: [InputFile] = []
    /// Hidden files and folders (names starting with `.`, such as `.DS_Store`) under
    /// the folders named: not read, and not walked into.
    package var hidden: [String] = []
    /// Symbolic links under the folders named, not followed (without `--follow-symlinks`).
    package var symbolicLinks: [String] = []
    /// Files `--include`/`--exclude` left out.
    package var excluded: [String] = []
    /// With `--follow-symlinks`: links to a folder the walk had entered already (a
    /// cycle, or two links to one folder), and links that point nowhere.
    package var loops: [String] = []
    package var brokenLinks: [String] = []
    /// Folders under the folders named that are spools (they hold a spool's ledger):
    /// a walk never reads a spool, the run's own or another.
    package var spools: [String] = []

    /// What the walks left out, one line each, for the run's summary and for the error
    /// when a walk found nothing.
    package var leftOutLines: [String] {
        func named(_ paths: [String]) -> String {
            let shown = paths.prefix(3).joined(separator: ", ")
            return paths.count > 3 ? shown + ", …" : shown
        }
        func count(_ n: Int, _ what: String) -> String { "\(group(n)) \(what)\(n == 1 ? "" : "s")" }
        var lines: [String] = []
        if !spools.isEmpty {
            lines.append("skipped \(count(spools.count, "spool")) (\(named(spools))): a walk never reads a spool's files")
        }
        if !hidden.isEmpty { lines.append("skipped \(count(hidden.count, "hidden file")) (\(named(hidden)))") }
        if !symbolicLinks.isEmpty {
            lines.append("skipped \(count(symbolicLinks.count, "symbolic link")) (\(named(symbolicLinks))); "
                         + "--follow-symlinks reads them")
        }
        if !excluded.isEmpty { lines.append("left out \(count(excluded.count, "file")) by --include/--exclude (\(named(excluded)))") }
        if !loops.isEmpty {
            lines.append("skipped \(count(loops.count, "symbolic link")) to a folder already read (a cycle) (\(named(loops)))")
        }
        if !brokenLinks.isEmpty {
            lines.append("skipped \(count(brokenLinks.count, "broken symbolic link")) (\(named(brokenLinks)))")
        }
        return lines
    }

    /// What `other`'s walks left out, added to this one's.
    mutating func addLeftOut(of other: Discovery) {
        hidden += other.hidden
        symbolicLinks += other.symbolicLinks
        excluded += other.excluded
        loops += other.loops
        brokenLinks += other.brokenLinks
        spools += other.spools
    }
}
