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
                // About log₂ of the commits: merging keeps the runs few.
                #expect(runs.runCount <= 8, "\(runFiles(folder))")
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
            let (withFilters, _) = try open(folder, budget: 8 << 20, lastCommit: 0)
            try withFilters.save(table(keys), throughCommit: 1)
            // 10 bits an id: ~125 KB of filter and 6 KB of fence for 100k ids.
            #expect(withFilters.memoryBytes < 150_000 && withFilters.memoryBytes > 100_000, "\(withFilters.memoryBytes)")
            let (none, _) = try open(folder, budget: 0, lastCommit: 1)
            // No filter: the fence (16 bytes a 256 ids) and the read buffer only.
            #expect(none.memoryBytes == (100_000 + 255) / 256 * 16 + 4096, "\(none.memoryBytes)")
        }
    }

    @Test func anInterruptedMergeIsFinishedByTheNextOpen() throws {
        try withTemporaryDirectory { dir in
            let folder = dir.appendingPathComponent("message-ids").path
            var random = SeededGenerator(seed: 9)
            let batches = [1000, 10, 10].map { count in (0..<count).map { _ in key(&random) } }
            let (runs, _) = try open(folder, lastCommit: 0)
            try runs.save(table(batches[0]), throughCommit: 1)
            try runs.save(table(batches[1]), throughCommit: 2)
            #expect(runFiles(folder) == ["00000001-00000001.ids", "00000002-00000002.ids"])
            let kept = try Data(contentsOf: URL(fileURLWithPath: folder + "/00000002-00000002.ids"))
            try runs.save(table(batches[2]), throughCommit: 3)
            #expect(runFiles(folder) == ["00000001-00000001.ids", "00000002-00000003.ids"])
            // As a kill after the merge was in place, before the runs it merged were removed.
            try kept.write(to: URL(fileURLWithPath: folder + "/00000002-00000002.ids"))
            let (reopened, notes) = try open(folder, lastCommit: 3)
            #expect(notes == ["finished merging saved message ids: removed 1 merged run"])
            #expect(runFiles(folder) == ["00000001-00000001.ids", "00000002-00000003.ids"])
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
