import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeIngest

/// `serve`'s report cache: the report made once is given again while nothing is
/// committed (even with the dropped spool out of reach), and made again, equal to a
/// fresh `AuditReport.make`, after each commit: a run's and a redrive's.
@Suite struct AuditReportCacheTests {
    /// The report's JSON with its time taken left out.
    static func json(_ report: AuditReport) -> String {
        var report = report
        report.elapsedSeconds = 0
        return report.json
    }

    static func expectFresh(_ cache: AuditReportCache, _ spool: String) throws -> AuditReport {
        let cached = try cache.report()
        #expect(Self.json(cached) == Self.json(try AuditReport.make(spool: spool)))
        return cached
    }

    @Test func theReportIsMadeAgainOnlyAfterACommit() throws {
        try withTemporaryDirectory { dir in
            let spool = try DescendingPageTests.spool(in: dir)
            let cache = AuditReportCache(spool: spool)
            let first = try Self.expectFresh(cache, spool)
            #expect(first.commits == 4 && first.dropped == 80 && first.redrivable == 0)

            // Nothing committed: the report is the one made, the dropped files unread.
            let dropped = URL(fileURLWithPath: spool).appendingPathComponent("dropped")
            let aside = dir.appendingPathComponent("dropped-aside")
            try FileManager.default.moveItem(at: dropped, to: aside)
            #expect(Self.json(try cache.report()) == Self.json(first))
            #expect(throws: AuditError.self, "a fresh report reads the files") { try AuditReport.make(spool: spool) }
            try FileManager.default.moveItem(at: aside, to: dropped)

            // A run commits the late identifies of two inputs: a new report.
            let late = dir.appendingPathComponent("late.ndjson")
            try Data((1...2).flatMap { file in stride(from: 0, to: 60, by: 3).map { #"{"type":"identify","userId":"late\#(file)-\#($0)"}"# + "\n" } }
                .joined().utf8).write(to: late)
            var options = RunOptions()
            options.spool = spool
            _ = try IngestRun(options: options).run([InputFile(path: late.path)])
            let afterRun = try Self.expectFresh(cache, spool)
            #expect(afterRun.commits == 5 && afterRun.redrivable == 40)

            // A redrive rewrites two dropped files in its commit: a new report again.
            #expect(try Redrive.run(spool: spool, filter: AuditFilter()).movedTotal == 40)
            let afterRedrive = try Self.expectFresh(cache, spool)
            #expect(afterRedrive.commits == 6 && afterRedrive.redriven == 40 && afterRedrive.dropped == 40)
        }
    }
}
