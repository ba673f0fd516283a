import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// `serve`'s `order=desc`: the dropped files read backwards. Pages of any size give the
/// ascending records reversed, across files and chunk boundaries, with a filter too; a
/// cursor made before a redrive rewrote its file goes on with the records left.
@Suite struct DescendingPageTests {
    /// Four inputs of 60 lines, one in three a track of a user identified later.
    static func spool(in dir: URL) throws -> String {
        var inputs: [InputFile] = []
        for file in 0..<4 {
            var lines = ""
            for i in 0..<60 {
                let user = i % 3 == 0 ? "late\(file)-\(i)" : "u\(file)-\(i)"
                if i % 3 != 0 { lines += #"{"type":"identify","userId":"\#(user)"}"# + "\n" }
                // Long properties, so that lines cross the reader's 256 KiB chunks.
                let padding = String(repeating: "x", count: Int.random(in: 100...9_000))
                lines += #"{"type":"track","userId":"\#(user)","event":"E\#(i % 4)","timestamp":"2025-03-10T00:00:00Z","properties":{"p":"\#(padding)"}}"# + "\n"
            }
            let url = dir.appendingPathComponent("part\(file).ndjson")
            try Data(lines.utf8).write(to: url)
            inputs.append(InputFile(path: url.path))
        }
        var options = RunOptions()
        options.spool = dir.appendingPathComponent("spool").path
        _ = try IngestRun(options: options).run(inputs)
        return options.spool
    }

    static func ascending(_ spool: String, _ filter: AuditFilter = AuditFilter()) throws -> [DropID] {
        try AuditPage.make(spool: spool, filter: filter, limit: 1000).ids
    }

    static func descending(_ spool: String, _ filter: AuditFilter = AuditFilter(), limit: Int,
                           from cursor: String? = nil) throws -> [DropID] {
        var ids: [DropID] = []
        var cursor = cursor
        var pages = 0
        repeat {
            let page = try AuditPage.makeDescending(spool: spool, filter: filter, limit: limit, cursor: cursor)
            #expect(page.records.count <= limit)
            if page.nextCursor != nil { #expect(page.records.count == limit) }
            #expect(page.records.count == page.ids.count)
            ids += page.ids
            cursor = page.nextCursor
            pages += 1
        } while cursor != nil && pages < 1000
        return ids
    }

    @Test func pagesNewestFirstAreTheSpoolBackwards() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.spool(in: dir)
            let all = try Self.ascending(spool)
            #expect(all.count == 80)
            for limit in [1, 7, 80, 200] {
                #expect(try Self.descending(spool, limit: limit) == Array(all.reversed()), "limit \(limit)")
            }
            var filter = AuditFilter()
            filter.events = ["E2"]
            #expect(try Self.descending(spool, filter, limit: 3) == Array(try Self.ascending(spool, filter).reversed()))
            // A descending cursor continues only in its order, with its filters.
            let first = try AuditPage.makeDescending(spool: spool, filter: AuditFilter(), limit: 5)
            #expect(throws: AuditError.self) { try AuditPage.make(spool: spool, filter: AuditFilter(), cursor: first.nextCursor) }
            #expect(throws: AuditError.self) { try AuditPage.makeDescending(spool: spool, filter: filter, cursor: first.nextCursor) }
        }
    }

    @Test func aCursorMadeBeforeARedriveGoesOnWithTheRecordsLeft() throws {
        try withTemporaryDirectory { dir in
            let spool = try Self.spool(in: dir)
            let middle = try AuditPage.makeDescending(spool: spool, filter: AuditFilter(), limit: 30)
            // The late users of part1 and part2 are identified; redrive rewrites both files.
            let late = dir.appendingPathComponent("late.ndjson")
            try Data((1...2).flatMap { file in stride(from: 0, to: 60, by: 3).map { #"{"type":"identify","userId":"late\#(file)-\#($0)"}"# + "\n" } }
                .joined().utf8).write(to: late)
            var options = RunOptions()
            options.spool = spool
            _ = try IngestRun(options: options).run([InputFile(path: late.path)])
            #expect(try Redrive.run(spool: spool, filter: AuditFilter()).movedTotal == 40)

            let rest = try Self.descending(spool, limit: 4, from: middle.nextCursor)
            let remaining = try Self.ascending(spool)
            #expect(remaining.count == 40)
            let seen = Set(middle.ids)
            #expect(rest == Array(remaining.reversed()).filter { !seen.contains($0) })
        }
    }
}
