import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// The message-id state's memory budget changes where ids are kept, never a decision:
/// the spools are byte for byte the same for a budget of nothing (every id saved on
/// disk at every commit, every lookup read from it), a small one, the default and a
/// huge one; for runs that change budget between them; and for a spool written before
/// ids were saved on disk, converted by its next run.
@Suite struct MessageIDBudgetTests {
    /// Files whose records depend on each other: message ids repeated within and across
    /// files, tracks before and after their user's identify, aliases, broken lines.
    static func dependentExport(in dir: URL, seed: UInt64, files: Int) throws -> [InputFile] {
        var random = SeededGenerator(seed: seed)
        func pick(_ range: Range<Int>) -> Int { Int.random(in: range, using: &random) }
        var paths: [InputFile] = []
        for file in 0..<files {
            var lines: [String] = []
            for line in 0..<pick(50..<400) {
                let messageID = pick(0..<100) < 3 ? "" : #","messageId":"m\#(pick(0..<1500))""#
                let user = "u\(pick(0..<80))"
                let anonymous = "a\(pick(0..<120))"
                let time = #""timestamp":"2024-03-0\#(1 + file % 9)T10:\#(String(line % 60).leftPadded(to: 2)):00Z""#
                switch pick(0..<100) {
                case 0..<20: lines.append(#"{"type":"identify","userId":"\#(user)","anonymousId":"\#(anonymous)"\#(messageID),\#(time)}"#)
                case 20..<60: lines.append(#"{"type":"track","event":"E","userId":"\#(user)"\#(messageID),\#(time)}"#)
                case 60..<80: lines.append(#"{"type":"track","event":"E","anonymousId":"\#(anonymous)"\#(messageID),\#(time)}"#)
                case 80..<85: lines.append(#"{"type":"alias","userId":"\#(user)","previousId":"\#(anonymous)"\#(messageID)}"#)
                case 85..<95: lines.append(#"{"type":"page","userId":"\#(user)"\#(messageID),\#(time)}"#)
                default: lines.append(#"{"type":"track","event":"E","userId":"\#(user)"\#(messageID)"#)  // broken
                }
            }
            let url = dir.appendingPathComponent("export/\(String(file).leftPadded(to: 3)).ndjson")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
            paths.append(InputFile(path: url.path))
        }
        return paths
    }

    /// The spool's record files and its ledger without times, as a run leaves them.
    static func contents(_ spool: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for folder in ["accepted", "dropped"] {
            let dir = spool + "/" + folder
            for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
                files[folder + "/" + name] = Data(try comparableSpoolFile(
                    named: name, [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))))
            }
        }
        files["ledger"] = Data(try comparableSpoolFile(
            named: "ledger.ndjson", [UInt8](try Data(contentsOf: URL(fileURLWithPath: spool + "/state/ledger.ndjson")))))
        return files
    }

    static func run(_ inputs: [InputFile], spool: String, budget: Int?, jobs: Int = 2) throws -> RunSummary {
        var options = RunOptions()
        options.spool = spool
        options.memoryBudget = budget
        options.jobs = jobs
        return try IngestRun(options: options).run(inputs)
    }

    static func runFiles(_ spool: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: spool + "/state/message-ids")) ?? []).sorted()
    }

    @Test(arguments: [1, 2, 3])
    func spoolsAreTheSameForEveryBudget(seed: UInt64) throws {
        try withTemporaryDirectory { dir in
            let inputs = try Self.dependentExport(in: dir, seed: seed, files: 24)
            let huge = try Self.run(inputs, spool: dir.appendingPathComponent("huge").path, budget: 1 << 30)
            let expected = try Self.contents(dir.appendingPathComponent("huge").path)
            #expect(huge.counts[.duplicateMessageID] > 100 && huge.counts.accepted > 500, "\(huge.counts)")
            #expect(Self.runFiles(dir.appendingPathComponent("huge").path).isEmpty)

            for (label, budget) in [("nothing", 0), ("small", 6 << 10), ("default", nil) as (String, Int?)] {
                let spool = dir.appendingPathComponent(label).path
                let summary = try Self.run(inputs, spool: spool, budget: budget, jobs: Int(seed))
                let contents = try Self.contents(spool)
                let differing = Set(contents.keys).union(expected.keys).filter { contents[$0] != expected[$0] }.sorted()
                #expect(differing.isEmpty, "budget \(label): \(differing) differ")
                let counts = { (state: StateStatistics?) in
                    state.map { [$0.users, $0.identifiedUsers, $0.links, $0.messageIDs] } ?? []
                }
                #expect(counts(summary.state) == counts(huge.state), "budget \(label)")
                // What the summary says it cost: the budget, and the state's files on disk.
                let stateFiles = try FileManager.default.subpathsOfDirectory(atPath: spool + "/state").filter {
                    !$0.hasSuffix("message-ids")
                }
                let onDisk = try stateFiles.reduce(0) {
                    $0 + (try FileManager.default.attributesOfItem(atPath: spool + "/state/" + $1)[.size] as! Int)
                }
                #expect(summary.memoryBudget == (budget ?? MessageIDBudget.default().bytes))
                #expect(summary.stateDiskBytes == onDisk && onDisk > 0)
                #expect(summary.json.contains(#""memory_budget_bytes":\#(summary.memoryBudget),"#)
                        && summary.json.contains(#""disk_bytes":\#(onDisk)"#), "\(summary.json)")
                if budget == 0 {
                    // Every commit saved its ids; merging four at a time left a few runs.
                    let runs = Self.runFiles(spool)
                    #expect(!runs.isEmpty && runs.count <= 10 && runs.last?.hasSuffix("-00000024.ids") == true, "\(runs)")
                    #expect(summary.state?.messageIDDiskBytes ?? 0 >= (summary.state?.messageIDs ?? 0) * 16)
                }
            }

            // Runs over parts, each with another budget, read what the others saved.
            let parts = dir.appendingPathComponent("parts").path
            for (range, budget) in [(0..<8, 0), (8..<16, nil), (16..<24, 6 << 10)] as [(Range<Int>, Int?)] {
                _ = try Self.run(Array(inputs[range]), spool: parts, budget: budget)
            }
            #expect(try Self.contents(parts) == expected)
        }
    }

    /// A spool whose ids all live in its snapshot and journals, as every spool did
    /// before ids were saved on disk: its next run with a small budget saves them as
    /// one run, once, and decides as one run over everything would.
    @Test func aSpoolFromBeforeRunsIsConvertedOnce() throws {
        try withTemporaryDirectory { dir in
            let inputs = try Self.dependentExport(in: dir, seed: 8, files: 40)
            let reference = dir.appendingPathComponent("reference").path
            _ = try Self.run(inputs, spool: reference, budget: nil)

            let old = dir.appendingPathComponent("old").path
            let first = try Self.run(Array(inputs[..<36]), spool: old, budget: 1 << 30)  // past the snapshot at 32
            #expect(FileManager.default.fileExists(atPath: old + "/state/snapshot"))
            try FileManager.default.removeItem(atPath: old + "/state/message-ids")
            // Opening it with a small budget saves every id as one run, and keeps none in memory.
            do {
                let spool = try Spool(directory: old)
                let state = try spool.loadState(messageIDBudget: MessageIDBudget(bytes: 0))
                #expect(Self.runFiles(old) == ["00000001-00000036.ids"])
                #expect(state.messageIDs.count == 0 && state.savedMessageIDs?.count == first.state?.messageIDs, "\(state.messageIDs.count) \(String(describing: state.savedMessageIDs?.count)) \(String(describing: first.state?.messageIDs))")
            }
            _ = try Self.run(Array(inputs[36...]), spool: old, budget: 0)
            #expect(try Self.contents(old) == Self.contents(reference))
        }
    }
}
