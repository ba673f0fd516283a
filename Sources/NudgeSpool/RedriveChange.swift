import NudgeCore
import NudgeSystem
import Synchronization

/// What a `redrive` commit changed: the dropped files it rewrote without the records
/// it moved to its accepted file, and how many records each input file gave up.
package struct RedriveChange: Sendable, Equatable {
    /// One rewritten `dropped/KKKKKKKK.ndjson.gz` (or `.ndjson`): its commit, new size and records moved out.
    package struct Replaced: Sendable, Equatable {
        package var commit: Int
        package var droppedBytes: Int
        package var moved: Int

        package init(commit: Int, droppedBytes: Int, moved: Int) {
            self.commit = commit
            self.droppedBytes = droppedBytes
            self.moved = moved
        }
    }

    /// Records moved out of the records of one input path (`source.file`).
    package struct Source: Sendable, Equatable {
        package var path: String
        package var moved: Int

        package init(path: String, moved: Int) {
            self.path = path
            self.moved = moved
        }
    }

    package var replaced: [Replaced]
    package var sources: [Source]
    /// Records moved in all: the lines of this commit's accepted file.
    package var moved: Int { replaced.reduce(0) { $0 + $1.moved } }

    package init(replaced: [Replaced], sources: [Source]) {
        self.replaced = replaced
        self.sources = sources
    }
}
