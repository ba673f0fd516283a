import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeSpool
@testable import NudgeSystem

/// The message ids saved on disk: exact lookups whatever the filters' size, runs that
/// merge to a logarithmic few, an interrupted merge finished by the next open, and
/// damage refused, never trusted.
@Suite struct MessageIDRunsTests {
    func key(_ random: inout SeededGenerator) -> Fingerprint {
        Fingerprint(high: random.next(), low: random.next() | 1)
    }

    func table(_ keys: some Sequence<Fingerprint>) -> FingerprintTable {
        var table = FingerprintTable(storesValues: false)
        for key in keys { _ = table.insert(key) }
        return table
    }

    func open(_ folder: String, budget: Int = 1 << 20, lastCommit: Int) throws -> (MessageIDRuns, [String]) {
        var notes: [String] = []
        let runs = try MessageIDRuns(folder: folder, budget: MessageIDBudget(bytes: budget), lastCommit: lastCommit,
                                     repairing: true, notes: &notes)
        return (runs, notes)
    }

    func runFiles(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    @Test(arguments: [0, 4 << 10, 64 << 20])
    func lookupsAreExactForAnyBudget(budget: Int) throws {
        try withTemporaryDirectory { dir in
            let folder = dir.appendingPathComponent("message-ids").path
            var random = SeededGenerator(seed: UInt64(budget) &+ 11)
            var saved = Set<Fingerprint>()
            var (runs, _) = try open(folder, budget: budget, lastCommit: 0)
            for commit in 1...40 {
                let batch = (0..<Int(random.next() % 700)).map { _ in key(&random) }
                try runs.save(table(batch), throughCommit: commit)
                saved.formUnion(batch)
                // Every saved id is found; new ones are not.
                for key in saved.shuffled(using: &random).prefix(200) { #expect(runs.contains(key)) }
                for _ in 0..<200 { #expect(!runs.contains(key(&random))) }
                #expect(runs.count == saved.count)
                // Merging four at a time keeps the runs few: at most about three a size.
                #expect(runs.runCount <= 12, "\(runFiles(folder))")
            }
            #expect(runs.throughCommit == 40)
            // Opened again (what the next run does), with another budget: the same answers.
            (runs, _) = try open(folder, budget: 1 << 30, lastCommit: 40)
            #expect(runs.count == saved.count)
            for key in saved { #expect(runs.contains(key)) }
            #expect(runs.diskBytes == saved.count * 16 + runs.runCount * (MessageIDRun.headerBytes + StateFile.trailerBytes))
        }
    }

    @Test func filtersSpareTheDiskAndStayInTheirBudget() throws {
        try withTemporaryDirectory { dir in
            let folder = dir.appendingPathComponent("message-ids").path
            var random = SeededGenerator(seed: 5)
            let keys = (0..<100_000).map { _ in key(&random) }
            let fence = { (ids: Int) in (ids + 255) / 256 * 16 }
            let (withFilters, _) = try open(folder, budget: 8 << 20, lastCommit: 0)
            try withFilters.save(table(keys), throughCommit: 1)
            // One filter of 10 bits an id for half as many ids again, the fence (16 bytes
            // a 256 ids) and the 4 KiB read buffer.
            #expect(withFilters.memoryBytes == FingerprintFilter.memoryBytes(count: 150_000, bitsPerKey: 10) + fence(100_000) + 4096,
                    "\(withFilters.memoryBytes)")
            let (none, _) = try open(folder, budget: 0, lastCommit: 1)
            // No filter: the fence and the read buffer only.
            #expect(none.memoryBytes == fence(100_000) + 4096, "\(none.memoryBytes)")
        }
    }

    /// When the saved ids outgrow the filter, it is built again, larger, from the runs,
    /// until it reaches the budget; then the same filter takes the rest. Lookups stay
    /// exact throughout, and opened again the runs answer the same.
    @Test(arguments: [8 << 20, 256 << 10])
    func theFilterGrowsWithTheIdsUpToItsBudget(budget: Int) throws {
        try withTemporaryDirectory { dir in
            let folder = dir.appendingPathComponent("message-ids").path
            var random = SeededGenerator(seed: UInt64(budget))
            let (runs, _) = try open(folder, budget: budget, lastCommit: 0)
            var saved: [Fingerprint] = []
            var filterBytes: [Int] = []
            for commit in 1...5 {
                let batch = (0..<80_000).map { _ in key(&random) }
                try runs.save(table(batch), throughCommit: commit)
                saved += batch
                filterBytes.append(runs.filterMemoryBytes)
                for key in saved.shuffled(using: &random).prefix(2_000) { #expect(runs.contains(key)) }
            }
            let filterBudget = MessageIDBudget(bytes: budget).filterBytes
            // The filter grew as the ids did (rebuilt at 80k → capacity 120k, 160k → 240k, 320k → 480k)…
            #expect(filterBytes == filterBytes.sorted() && filterBytes.first! < filterBytes.last!, "\(filterBytes)")
            // …and never past its budget.
            #expect(runs.filterMemoryBytes <= filterBudget, "\(runs.filterMemoryBytes)")
            // Opened again: the filter built from the runs as they are.
            let reopened = try open(folder, budget: budget, lastCommit: 5).0
            for key in saved { #expect(reopened.contains(key)) }
        }
    }

    @Test func anInterruptedMergeIsFinishedByTheNextOpen() throws {
        try withTemporaryDirectory { dir in
            let folder = dir.appendingPathComponent("message-ids").path
            var random = SeededGenerator(seed: 9)
            let batches = [1000, 10, 10, 10, 10].map { count in (0..<count).map { _ in key(&random) } }
            let (runs, _) = try open(folder, lastCommit: 0)
            for commit in 1...4 { try runs.save(table(batches[commit - 1]), throughCommit: commit) }
            let single = (1...4).map { MessageIDRun.fileName(first: $0, last: $0) }
            #expect(runFiles(folder) == single)
            let kept = try (2...4).map { try Data(contentsOf: URL(fileURLWithPath: folder + "/" + single[$0 - 1])) }
            try runs.save(table(batches[4]), throughCommit: 5)
            // The four small runs merged; the large one is more than twice their size.
            #expect(runFiles(folder) == ["00000001-00000001.ids", "00000002-00000005.ids"])
            // As a kill after the merge was in place, before the runs it merged were removed
            // (one was already gone).
            for commit in 2...4 { try kept[commit - 2].write(to: URL(fileURLWithPath: folder + "/" + single[commit - 1])) }
            let (reopened, notes) = try open(folder, lastCommit: 5)
            #expect(notes == ["finished merging saved message ids: removed 3 merged runs"])
            #expect(runFiles(folder) == ["00000001-00000001.ids", "00000002-00000005.ids"])
            for key in batches.joined() { #expect(reopened.contains(key)) }
        }
    }

    @Test func damageIsRefusedNeverTrusted() throws {
        try withTemporaryDirectory { dir in
            let folder = dir.appendingPathComponent("message-ids").path
            var random = SeededGenerator(seed: 13)
            let (runs, _) = try open(folder, lastCommit: 0)
            try runs.save(table((0..<1000).map { _ in key(&random) }), throughCommit: 2)
            let path = folder + "/00000001-00000002.ids"
            let whole = try Data(contentsOf: URL(fileURLWithPath: path))

            func expectDamaged(_ problem: String, lastCommit: Int = 2, _ damage: () throws -> Void) throws {
                try damage()
                do {
                    _ = try open(folder, lastCommit: lastCommit)
                    Issue.record("\(problem): opened")
                } catch {
                    #expect("\(error)".contains(problem), "\(error)")
                }
                for name in runFiles(folder) { try FileManager.default.removeItem(atPath: folder + "/" + name) }
                try whole.write(to: URL(fileURLWithPath: path))
            }
            var flipped = whole
            flipped[MessageIDRun.headerBytes + 5000] ^= 0x10
            try expectDamaged("checksum mismatch") { try flipped.write(to: URL(fileURLWithPath: path)) }
            try expectDamaged("does not fit") { try whole.prefix(whole.count - 16).write(to: URL(fileURLWithPath: path)) }
            try expectDamaged("do not follow commit 0") {
                try FileManager.default.moveItem(atPath: path, toPath: folder + "/00000002-00000002.ids")
            }
            try expectDamaged("but the ledger ends at commit 1", lastCommit: 1) {}
            _ = try open(folder, lastCommit: 2)
        }
    }
}
