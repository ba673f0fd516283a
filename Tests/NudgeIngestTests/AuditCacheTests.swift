import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeIngest

/// `serve`'s audit cache: the report and collisions made once are given again while
/// nothing is committed (even with the dropped spool and the state out of reach), and
/// made again, equal to fresh ones, after each commit: a run's and a redrive's.
@Suite struct AuditCacheTests {
    /// The report's JSON with its time taken left out.
    static func json(_ report: AuditReport) -> String {
        var report = report
        report.elapsedSeconds = 0
        return report.json
    }

    /// The cache's report and collisions, checked against fresh ones.
    static func expectFresh(_ cache: AuditCache, _ spool: String) throws -> (AuditReport, UserIDCollisions) {
        let cached = try cache.report()
        #expect(Self.json(cached) == Self.json(try AuditReport.make(spool: spool)))
        let collisions = try cache.userIDCollisions()
        #expect(collisions.json == (try UserIDCollisions.make(spool: spool)).json)
        return (cached, collisions)
    }

    @Test func theReportIsMadeAgainOnlyAfterACommit() throws {
        try withTemporaryDirectory { dir in
            let spool = try DescendingPageTests.spool(in: dir)
            let cache = AuditCache(spool: spool)
            let (first, none) = try Self.expectFresh(cache, spool)
            #expect(first.commits == 4 && first.dropped == 80 && first.redrivable == 0 && none.collisions.isEmpty)

            // Nothing committed: the report is the one made, the dropped files unread.
            let dropped = URL(fileURLWithPath: spool).appendingPathComponent("dropped")
            let aside = dir.appendingPathComponent("dropped-aside")
            try FileManager.default.moveItem(at: dropped, to: aside)
            #expect(Self.json(try cache.report()) == Self.json(first))
            #expect(try cache.userIDCollisions().json == none.json)
            #expect(throws: AuditError.self, "a fresh report reads the files") { try AuditReport.make(spool: spool) }
            try FileManager.default.moveItem(at: aside, to: dropped)

            // A run commits the late identifies of two inputs, and one user's id in
            // capitals, which folds into the same ext_id: a new report and a collision.
            let late = dir.appendingPathComponent("late.ndjson")
            let identifies = (1...2).flatMap { file in stride(from: 0, to: 60, by: 3).map { #"{"type":"identify","userId":"late\#(file)-\#($0)"}"# } }
            try Data((identifies + [#"{"type":"identify","userId":"U0-1"}"#]).map { $0 + "\n" }.joined().utf8).write(to: late)
            var options = RunOptions()
            options.spool = spool
            _ = try IngestRun(options: options).run([InputFile(path: late.path)])
            let (afterRun, collisions) = try Self.expectFresh(cache, spool)
            #expect(afterRun.commits == 5 && afterRun.redrivable == 40)
            #expect(collisions.collisions.map(\.extID) == ["u0-1"])

            // A redrive rewrites two dropped files in its commit: a new report again.
            #expect(try Redrive.run(spool: spool, filter: AuditFilter()).movedTotal == 40)
            let (afterRedrive, _) = try Self.expectFresh(cache, spool)
            #expect(afterRedrive.commits == 6 && afterRedrive.redriven == 40 && afterRedrive.dropped == 40)
        }
    }
}
