import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// `run --jobs N`: the inputs are read and parsed on N workers and decided by one
/// sequencer in input order, so every spool byte is that of `--jobs 1`, whatever N,
/// the batch sizes, the pool's depth, the read and inflate chunk sizes, and the
/// threads' timing — across inputs whose identities depend on each other.
@Suite struct ParallelRunTests {
    /// Several random inputs of one export: gzip in random members, plain, and now and
    /// then a truncated gzip (a fault mid-input), always the last one with
    /// `truncatingLast`. Users and anonymous ids recur across inputs, so identifies in
    /// one input decide tracks in later ones.
    static func writeInputs(_ random: inout RandomJSON, in dir: URL, truncatingLast: Bool) throws -> [InputFile] {
        var inputs: [InputFile] = []
        let count = Int.random(in: 2...6, using: &random.generator)
        for index in 0..<count {
            let export = MixedExport.random(&random)
            let name: String
            var bytes: [UInt8]
            let kind = truncatingLast && index == count - 1 ? 9 : Int.random(in: 0..<10, using: &random.generator)
            switch kind {
            case 0..<6:
                name = "part-\(index).gz"
                bytes = try MixedExport.gzipMembers(export.stream, &random)
            case 6..<9:
                name = "part-\(index).ndjson"
                bytes = export.stream
            default:
                name = "part-\(index).gz"
                bytes = try gzip(export.stream)
                bytes.removeLast(Int.random(in: 1...min(bytes.count - 1, 40), using: &random.generator))
            }
            let url = dir.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            inputs.append(InputFile(path: url.path))
        }
        return inputs
    }

    /// Every file of a spool that a run writes, by relative path, as
    /// `comparableSpoolFile` has them: record files inflated, the ledger without its
    /// `committed_at` times, the line checksums that cover them and the compressed sizes.
    static func spoolFiles(_ spool: String) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for folder in ["accepted", "dropped", "state", "state/message-ids"] {
            let url = URL(fileURLWithPath: spool).appendingPathComponent(folder)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            where name != "lock" && name != "message-ids" {
                files[folder + "/" + name] = try comparableSpoolFile(
                    named: name, [UInt8](try Data(contentsOf: url.appendingPathComponent(name))))
            }
        }
        return files
    }

    @Test func spoolsAreByteForByteThoseOfOneJobForAnyJobsBatchesAndChunks() throws {
        var random = RandomJSON(seed: 16_016, hugeNumbers: false)
        var totals = (records: 0, accepted: 0, faults: 0)
        // Fewer under a sanitizer, whose runtime makes each run several times slower.
        for trial in 0..<(sanitizerInUse == nil ? 25 : 8) {
            try withTemporaryDirectory { dir in
                let inputs = try Self.writeInputs(&random, in: dir, truncatingLast: trial % 2 == 1)
                var reference = RunOptions()
                reference.spool = dir.appendingPathComponent("jobs-1").path
                reference.maxLineBytes = MixedExport.maxLineBytes
                reference.jobs = 1
                // Members cut by the records alone: the same files whatever hands them over.
                reference.spoolMemberBytes = [1, 700, 9_000, 1 << 20][trial % 4]
                let expected = try IngestRun(options: reference).run(inputs)
                let expectedFiles = try Self.spoolFiles(reference.spool)
                #expect(expectedFiles.keys.contains("accepted/00000001.ndjson.gz"), "trial \(trial)")
                totals.records += expected.counts.records
                totals.accepted += expected.counts.accepted
                totals.faults += expected.counts[.corruptInput]

                for pass in 0..<3 {
                    var options = reference
                    options.spool = dir.appendingPathComponent("pass-\(pass)").path
                    options.jobs = [2, 3, 8][pass]
                    options.batchBytes = Int.random(in: 1...20_000, using: &random.generator)
                    options.batchCount = random.chance(30) ? nil : Int.random(in: 2...5, using: &random.generator)
                    options.readChunkBytes = Int.random(in: 1...70_000, using: &random.generator)
                    options.inflateChunkBytes = Int.random(in: 1...70_000, using: &random.generator)
                    options.spoolFlushBytes = Int.random(in: 1...100_000, using: &random.generator)
                    let summary = try IngestRun(options: options).run(inputs)
                    #expect(summary.counts == expected.counts, "trial \(trial) pass \(pass)")
                    #expect(summary.inputs.map(\.counts) == expected.inputs.map(\.counts), "trial \(trial) pass \(pass)")
                    #expect(summary.redrivable == expected.redrivable, "trial \(trial) pass \(pass)")
                    let files = try Self.spoolFiles(options.spool)
                    #expect(files.keys.sorted() == expectedFiles.keys.sorted(), "trial \(trial) pass \(pass)")
                    for (name, bytes) in expectedFiles where files[name] != bytes {
                        let at = zip(files[name] ?? [], bytes).prefix { $0 == $1 }.count
                        Issue.record("trial \(trial) pass \(pass): \(name) differs from byte \(at) with \(options)")
                    }
                }
            }
        }
        // The inputs must reach acceptance and faults, or the property says little.
        #expect(totals.accepted > 150 && totals.records > 1000 && totals.faults > 0, "\(totals)")
    }

    /// A pool of two batches with many workers and readers: the input being decided
    /// always gets a batch, so a long run on a tiny pool ends (no deadlock) and loses
    /// nothing. A deadlock fails the time limit instead of hanging the suite.
    @Test(.timeLimit(.minutes(2))) func aTinyPoolWithManyWorkersNeverStalls() throws {
        var random = RandomJSON(seed: 42, hugeNumbers: false)
        try withTemporaryDirectory { dir in
            var inputs: [InputFile] = []
            for index in 0..<12 {
                let export = MixedExport.random(&random)
                let url = dir.appendingPathComponent("part-\(index).gz")
                try Data(try gzip(export.stream)).write(to: url)
                inputs.append(InputFile(path: url.path))
            }
            var options = RunOptions()
            options.spool = dir.appendingPathComponent("spool").path
            options.maxLineBytes = MixedExport.maxLineBytes
            options.jobs = 16
            options.batchCount = 2
            options.batchBytes = 300
            let summary = try IngestRun(options: options).run(inputs)
            #expect(summary.inputs.count == 12)
            #expect(summary.counts.records == summary.inputs.reduce(0) { $0 + $1.counts.records })
            #expect(summary.counts.records > 0 && summary.counts.records == summary.counts.accepted + summary.counts.dropped)
        }
    }

    /// `--jobs` and `--inflate` on the real binary: the sample export and a generated
    /// dirty export give the same spools with `--jobs 1 --inflate zlib`, `--jobs 4` and,
    /// where ISA-L is installed, `--jobs 2 --inflate isal`; a bad value is a usage error.
    @Test func theCommandLinesJobsAndInflateBackendsGiveTheSameSpools() throws {
        try withTemporaryDirectory { dir in
            let export = dir.appendingPathComponent("export").path
            let generated = try runProgram("/usr/bin/env", [
                "python3", repositoryRoot.appendingPathComponent("scripts/generate_export.py").path,
                "--out", export, "--events", "20000", "--files", "5", "--users", "800", "--dirty", "0.2", "--seed", "16",
                "--multi-member"])
            #expect(generated.status == 0, "\(generated.stderr)")
            // The sample ends with a truncated file: both backends stop at the same line.
            let inputs = [export, repositoryRoot.appendingPathComponent("samples/segment-logs").path]
            var configurations = [["--jobs", "1", "--inflate", "zlib"], ["--jobs", "4"]]
            if InflateBackend.isalAvailable {
                configurations.append(["--jobs", "2", "--inflate", "isal"])
            } else {
                print("ISA-L unavailable (\(InflateBackend.isalUnavailableReason ?? "")): --inflate isal not compared")
            }
            var spools: [[String: [UInt8]]] = []
            for (index, arguments) in configurations.enumerated() {
                let spool = dir.appendingPathComponent("spool-\(index)").path
                let run = try runProgram(toolPath, ["run", "--spool", spool, "--json"] + arguments + inputs)
                #expect(run.status == 2, "\(arguments): \(run.stderr)")
                spools.append(try Self.spoolFiles(spool))
            }
            #expect(spools[0].count > 4)
            for (index, spool) in spools.enumerated().dropFirst() {
                #expect(spool == spools[0], "\(configurations[index]) differs from \(configurations[0])")
            }
            let scratch = dir.appendingPathComponent("x").path
            let refused = try runProgram(toolPath, ["run", "--spool", scratch, "--jobs", "0", export])
            #expect(refused.status == 1 && refused.stderr.contains("--jobs must be between 1 and 1024"), "\(refused.stderr)")
            let unknown = try runProgram(toolPath, ["run", "--spool", scratch, "--inflate", "zstd", export])
            #expect(unknown.status == 1 && unknown.stderr.contains("auto"), "\(unknown.stderr)")
        }
    }

    /// `--jobs` defaults to the cores the process may use: its affinity mask, as Python
    /// reads it, and under `taskset -c 0` one, as `run --help` shows.
    @Test func jobsDefaultToTheCoresTheAffinityMaskAllows() throws {
        let python = try runProgram("/usr/bin/env", ["python3", "-c", "import os; print(len(os.sched_getaffinity(0)))"])
        #expect(Int(python.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) == availableCores())
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") else {
            print("taskset not installed: the pinned default is not checked")
            return
        }
        let pinned = try runProgram("/usr/bin/taskset", ["-c", "0", toolPath, "run", "--help"])
        // The option's own entry, not the usage line.
        let jobsHelp = pinned.stdoutText.components(separatedBy: "  --jobs <N>").last ?? ""
        #expect(jobsHelp.prefix(200).contains("may use, here 1)"), "\(jobsHelp.prefix(200))")
    }
}
