import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeIngest
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

    @Test func aLedgerReadAgainIsTheFileAsItIsNow() throws {
        try withTemporaryDirectory { dir in
            let spool = try DescendingPageTests.spool(in: dir)
            let path = spool + "/state/ledger.ndjson"
            try Self.expectFresh(spool, commits: 4, "first read")

            // A commit appended: read on from where the last read stopped.
            let more = dir.appendingPathComponent("more.ndjson")
            try Data(#"{"type":"identify","userId":"late0-0"}"#.utf8 + [0x0A]).write(to: more)
            var options = RunOptions()
            options.spool = spool
            _ = try IngestRun(options: options).run([InputFile(path: more.path)])
            try Self.expectFresh(spool, commits: 5, "after a commit")

            // A commit's line half written (a run killed mid-append) is left out, and the
            // line that replaces it once the next run repairs the ledger is read.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(#"{"commit":6,"committed_at":"2026-"#.utf8))
            try handle.close()
            try Self.expectFresh(spool, commits: 5, "with a torn tail")
            let last = dir.appendingPathComponent("last.ndjson")
            try Data(#"{"type":"identify","userId":"late0-3"}"#.utf8 + [0x0A]).write(to: last)
            _ = try IngestRun(options: options).run([InputFile(path: last.path)])
            try Self.expectFresh(spool, commits: 6, "after the repair and a commit")
            let length = try Data(contentsOf: URL(fileURLWithPath: path)).count

            // Another spool's ledger written over this one (the same inode), with an
            // unfinished line after it that makes it as long as the ledger read before;
            // then as a new file: read from the start both times.
            let otherDir = dir.appendingPathComponent("other")
            try FileManager.default.createDirectory(at: otherDir, withIntermediateDirectories: true)
            let other = try DescendingPageTests.spool(in: otherDir)
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
