/// A dropped record's name that stays the same while runs add commits and redrives
/// rewrite files: its commit and its `source.line` (one commit is one input, so no two
/// of its records share a line). Written `COMMIT-LINE`.
package struct DropID: Sendable, Hashable, CustomStringConvertible {
    package var commit: Int
    package var line: Int

    package init(commit: Int, line: Int) {
        (self.commit, self.line) = (commit, line)
    }

    /// Reads `COMMIT-LINE`; nil for anything else.
    package init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let commit = Int(parts[0]), let line = Int(parts[1]), commit > 0, line > 0 else { return nil }
        self.init(commit: commit, line: line)
    }

    package var description: String { "\(commit)-\(line)" }
}
