import NudgeCore
import NudgeSpool
import NudgeSystem

/// Which files of a directory walk are read (`run --include`, `--exclude`,
/// `--follow-symlinks`). Files and folders named on the command line are always read.
package struct WalkOptions: Sendable, Equatable {
    /// Only walked files matching one of these globs are read (all, when empty).
    package var includes: [String] = []
    /// Walked files matching one of these globs are left out.
    package var excludes: [String] = []
    /// Read what symbolic links under a named folder point to (each folder once).
    package var followSymlinks = false

    package init(includes: [String] = [], excludes: [String] = [], followSymlinks: Bool = false) {
        self.includes = includes
        self.excludes = excludes
        self.followSymlinks = followSymlinks
    }

    /// Whether a walked file is read: `relativePath` is its path below the folder named
    /// on the command line. A glob without `/` is matched against the file's name, one
    /// with `/` against the relative path (`*` then stays within one folder), as
    /// fnmatch(3) matches them.
    func admits(relativePath: [UInt8], name: [UInt8]) -> Bool {
        func matches(_ glob: String) -> Bool {
            let subject = glob.utf8.contains(0x2F) ? relativePath : name
            return FileSystem.matches(glob: glob, subject, slashesMustMatch: glob.utf8.contains(0x2F))
        }
        if !includes.isEmpty && !includes.contains(where: matches) { return false }
        return !excludes.contains(where: matches)
    }
}
