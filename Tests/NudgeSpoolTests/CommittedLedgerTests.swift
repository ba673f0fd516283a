import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeSpool

/// `Ledger.committed(inSpool:)` keeps what it read and parses only what was appended
/// since; whatever happens to the file, it gives what a fresh read of it gives.
@Suite struct CommittedLedgerTests {
    static func fresh(_ spool: String) throws -> [LedgerEntry] {
        var notes: [String] = []
        return try Ledger.load(spool + "/state/ledger.ndjson", notes: &notes, repair: false).entries
    }

    static func expectFresh(_ spool: String, commits: Int, _ comment: Comment) throws {
        let read = try Ledger.committed(inSpool: spool).entries
        #expect(read.count == commits, comment)
        #expect(read == (try Self.fresh(spool)), comment)
    }

    /// Commits one input's records as `run` does, through the spool's own steps: open
    /// (which recovers and repairs), write the records, commit.
    static func commit(_ users: [String], to spool: String, input: String) throws {
        let opened = try Spool(directory: spool)
        var state = try opened.loadState()
        let writer = SpoolWriter(directory: spool)
        try writer.begin(commit: opened.ledger.lastCommit + 1)
        for user in users {
            writer.accepted.append(utf8: #"{"kind":"identify","body":{"ext_id":"\#(user)"}}"# + "\n")
        }
        let summary = LedgerInput(path: input, size: 40 * users.count, fingerprint: "fingerprint-of-\(input)",
                                  format: .plain, records: users.count, accepted: users.count, dropped: 0, status: .ok)
        try opened.commit([summary], writer: writer, state: &state)
    }

    /// A spool of `commits` commits, in `dir/name`.
    static func spool(in dir: URL, name: String = "spool", commits: Int) throws -> String {
        let spool = dir.appendingPathComponent(name).path
        for commit in 0..<commits {
            try Self.commit((0..<20).map { "\(name)\(commit)-\($0)" }, to: spool, input: "\(name)/part\(commit).ndjson")
        }
        return spool
    }

    @Test func aLedgerReadAgainIsTheFileAsItIsNow() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.spool(in: dir, commits: 4)
            let path = spool + "/state/ledger.ndjson"
            try Self.expectFresh(spool, commits: 4, "first read")

            // A commit appended: read on from where the last read stopped.
            try Self.commit(["late0-0"], to: spool, input: "more.ndjson")
            try Self.expectFresh(spool, commits: 5, "after a commit")

            // A commit's line half written (a run killed mid-append) is left out, and the
            // line that replaces it once the next open repairs the ledger is read.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(#"{"commit":6,"committed_at":"2026-"#.utf8))
            try handle.close()
            try Self.expectFresh(spool, commits: 5, "with a torn tail")
            try Self.commit(["late0-3"], to: spool, input: "last.ndjson")
            try Self.expectFresh(spool, commits: 6, "after the repair and a commit")
            let length = try Data(contentsOf: URL(fileURLWithPath: path)).count

            // Another spool's ledger written over this one (the same inode), with an
            // unfinished line after it that makes it as long as the ledger read before;
            // then as a new file: read from the start both times.
            let other = try Self.spool(in: dir, name: "other", commits: 4)
            let otherLedger = try Data(contentsOf: URL(fileURLWithPath: other + "/state/ledger.ndjson"))
            #expect(otherLedger.count < length)
            let sameInode = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try sameInode.truncate(atOffset: 0)
            try sameInode.write(contentsOf: otherLedger + Data(repeating: 0x20, count: length - otherLedger.count + 10))
            try sameInode.close()
            try Self.expectFresh(spool, commits: 4, "written over, as long as before")
            try FileManager.default.removeItem(atPath: path)
            try otherLedger.write(to: URL(fileURLWithPath: path))
            try Self.expectFresh(spool, commits: 4, "another file")
        }
    }
}
