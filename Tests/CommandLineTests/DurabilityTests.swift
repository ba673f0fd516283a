import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// Issue #4 on the real binary: runs that continue each other, inputs processed once,
/// commits that survive `kill -9` at any instant, clean failures, the lock, and
/// damaged state refused. Every spool is also checked by `scripts/validate_spool.py`,
/// which reads the ledger and the state files with its own code. The tests are
/// independent (each in its own folder) and run in parallel.
@Suite struct DurabilityTests {
    /// What a spool holds that a user or `replay` reads: every file of `accepted/` and
    /// `dropped/` by name (committed ones inflated), and the ledger's entries without
    /// their commit times and compressed sizes (`comparableSpoolFile`).
    struct SpoolContents: Equatable {
        var files: [String: Data]
        var ledger: [String]

        init(_ spool: URL) throws {
            files = [:]
            for folder in ["accepted", "dropped"] {
                let dir = spool.appendingPathComponent(folder)
                for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] {
                    // Hidden leftovers as they are; committed files as `comparableSpoolFile` has them.
                    let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
                    files[folder + "/" + name] = Data(name.hasPrefix(".") ? bytes : try comparableSpoolFile(named: name, bytes))
                }
            }
            let text = (try? Data(contentsOf: spool.appendingPathComponent("state/ledger.ndjson"))) ?? Data()
            ledger = String(decoding: try comparableSpoolFile(named: "ledger.ndjson", [UInt8](text)), as: UTF8.self)
                .split(separator: "\n").map(String.init)
        }

        /// Every record line of a folder, in file-name order, as `zcat` gives them.
        func lines(_ folder: String) throws -> [Substring] {
            try files.keys.filter { $0.hasPrefix(folder + "/") && !$0.contains("/.") }.sorted().flatMap {
                String(decoding: try records($0), as: UTF8.self).split(separator: "\n")
            }
        }

        /// The records of one file (`accepted/00000002.ndjson.gz`), inflated; none when absent.
        func records(_ name: String) throws -> [UInt8] {
            [UInt8](files[name] ?? Data())
        }
    }

    static func run(_ spool: URL, _ inputs: [String], in dir: URL, extra: [String] = [],
                    environment: [String: String] = [:]) throws -> ProcessResult {
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        return try runProgram(toolPath, ["run", "--spool", spool.path, "--json"] + extra + inputs,
                              currentDirectory: dir, environment: env)
    }

    static func validate(_ spool: URL) throws {
        let check = try runProgram("/usr/bin/env", [
            "python3", repositoryRoot.appendingPathComponent("scripts/validate_spool.py").path, "--spool", spool.path])
        #expect(check.status == 0, "validate_spool.py: \(check.stdoutText) \(check.stderr)")
    }

    static func writeLines(_ lines: [String], to url: URL) throws {
        try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: url)
    }

    /// A generated export of `files` gzip files over 4 received days (dirty lines of
    /// every kind included); returns its relative input path.
    static func generateExport(in dir: URL, files: Int, events: Int, seed: Int) throws -> String {
        let generated = try runProgram("/usr/bin/env", [
            "python3", repositoryRoot.appendingPathComponent("scripts/generate_export.py").path, "--out", dir.path,
            "--events", String(events), "--files", String(files), "--days", String(min(files, 4)), "--seed", String(seed),
            "--dirty", "0.1", "--users", String(events / 8),
        ])
        try #require(generated.status == 0, "generate_export.py: \(generated.stderr)")
        return "segment-logs"
    }

    // MARK: Runs continue each other

    /// The contract's "earlier run on the same spool": an identify committed by one run
    /// lets a later run accept its user's track, and a messageId seen by one run is a
    /// duplicate in the next; an alias and an email link carry over too.
    @Test func aLaterRunDecidesWithTheStateOfEarlierOnes() throws {
        try withTemporaryDirectory { dir in
            let spool = dir.appendingPathComponent("spool")
            let march = dir.appendingPathComponent("march.ndjson"), april = dir.appendingPathComponent("april.ndjson")
            try Self.writeLines([
                #"{"type":"identify","userId":"u1","anonymousId":"a1","messageId":"m1","traits":{"email":"Ann@Example.com"}}"#,
                #"{"type":"alias","userId":"u1","previousId":"old-1","messageId":"m2"}"#,
            ], to: march)
            try Self.writeLines([
                #"{"type":"track","userId":"u1","event":"Paid","timestamp":"2025-04-01T00:00:00Z","messageId":"m3"}"#,
                #"{"type":"identify","userId":"u1","messageId":"m1"}"#,
                #"{"type":"track","anonymousId":"a1","event":"Seen","timestamp":"2025-04-01T00:00:01Z"}"#,
                #"{"type":"track","anonymousId":"old-1","event":"Old","timestamp":"2025-04-01T00:00:02Z"}"#,
                #"{"type":"track","anonymousId":"ANN@EXAMPLE.COM","event":"Mail","timestamp":"2025-04-01T00:00:03Z"}"#,
                #"{"type":"track","userId":"u2","event":"Never","timestamp":"2025-04-01T00:00:04Z"}"#,
            ], to: april)
            let first = try Self.run(spool, ["march.ndjson"], in: dir)
            #expect(first.status == 0, "\(first.stderr)")
            let second = try Self.run(spool, ["april.ndjson"], in: dir)
            #expect(second.status == 0, "\(second.stderr)")
            let summary = try #require(try parseJSON(second.stdout) as? [String: Any])
            #expect((summary["state"] as? [String: Any])?["message_ids"] as? Int == 3)
            let records = try InMemoryRun.records(SpoolContents(spool).records("accepted/00000002.ndjson.gz"))
            #expect(records.map { ($0["body"] as? [String: Any])?["name"] as? String } == ["paid", "seen", "old", "mail"])
            #expect(records.map { $0["resolved_via"] as? String } == [nil, "anonymous_id", "alias", "email"])
            let dropped = try InMemoryRun.records(SpoolContents(spool).records("dropped/00000002.ndjson.gz"))
            #expect(dropped.map { $0["reason"] as? String } == ["duplicate_message_id", "not_identified"])
            try Self.validate(spool)
        }
    }

    /// A generated export split over several runs (and one run per file) gives
    /// byte-identical spools to one run over everything.
    @Test func runsOverPartsEqualOneRunOverAll() throws {
        try withTemporaryDirectory { dir in
            let root = try Self.generateExport(in: dir, files: 9, events: 6000, seed: 11)
            let files = try InputDiscovery.inputs(for: [dir.appendingPathComponent(root).path]).inputs.map {
                String($0.path.dropFirst(dir.path.count + 1))
            }
            try #require(files.count == 9)
            let whole = dir.appendingPathComponent("whole")
            #expect(try Self.run(whole, [root], in: dir).status == 0)

            let parts = dir.appendingPathComponent("parts")
            for slice in [files[0..<2], files[2..<3], files[3..<7], files[7...]] {
                #expect(try Self.run(parts, Array(slice), in: dir).status == 0)
            }
            let oneByOne = dir.appendingPathComponent("one-by-one")
            for file in files { #expect(try Self.run(oneByOne, [file], in: dir).status == 0) }

            let expected = try SpoolContents(whole)
            #expect(expected.files.count > 9 && expected.ledger.count == 9)
            #expect(try SpoolContents(parts) == expected)
            #expect(try SpoolContents(oneByOne) == expected)
            try Self.validate(parts)
        }
    }

    // MARK: Inputs are processed once

    @Test func committedInputsAreSkippedUnderAnyPath() throws {
        try withTemporaryDirectory { dir in
            let root = try Self.generateExport(in: dir, files: 3, events: 900, seed: 3)
            let spool = dir.appendingPathComponent("spool")
            #expect(try Self.run(spool, [root], in: dir).status == 0)
            let before = try SpoolContents(spool)

            let again = try Self.run(spool, [root], in: dir)
            #expect(again.status == 0)
            #expect(again.stderr.contains("nothing to do: 3 inputs were committed to this spool already"))
            let summary = try #require(try parseJSON(again.stdout) as? [String: Any])
            #expect(summary["records"] as? Int == 0 && (summary["inputs"] as? [Any])?.isEmpty == true)
            #expect((summary["skipped"] as? [[String: Any]])?.map { $0["reason"] as? String } == Array(repeating: "already_committed", count: 3))
            #expect(summary["state"] is NSNull)

            // The same archive moved elsewhere is recognised by its content.
            try FileManager.default.copyItem(at: dir.appendingPathComponent(root), to: dir.appendingPathComponent("moved"))
            let moved = try Self.run(spool, ["moved", root], in: dir)
            #expect(moved.status == 0)
            let skipped = try #require((try parseJSON(moved.stdout) as? [String: Any])?["skipped"] as? [[String: Any]])
            #expect(skipped.count == 6)
            #expect(skipped.allSatisfy { ($0["committed_path"] as? String)?.hasPrefix(root + "/") == true })
            #expect(try SpoolContents(spool) == before)
        }
    }

    @Test func aChangedInputIsRefusedUnlessTheUserAsks() throws {
        try withTemporaryDirectory { dir in
            let spool = dir.appendingPathComponent("spool")
            let input = dir.appendingPathComponent("day.ndjson")
            let identify = #"{"type":"identify","userId":"u1","messageId":"m1"}"#
            let track = #"{"type":"track","userId":"u1","event":"E","timestamp":"2025-01-01T00:00:00Z","messageId":"m2"}"#
            try Self.writeLines([identify], to: input)
            #expect(try Self.run(spool, ["day.ndjson"], in: dir).status == 0)
            try Self.writeLines([identify, track], to: input)
            let before = try SpoolContents(spool)

            let refused = try Self.run(spool, ["day.ndjson"], in: dir)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("1 input has changed since it was committed"))
            #expect(refused.stderr.contains("day.ndjson: 51 bytes when committed (commit 1), 146 bytes now"))
            #expect(refused.stderr.contains("--reprocess-changed"))
            #expect(try SpoolContents(spool) == before)

            // Same size, other content: the fingerprint tells.
            try Self.writeLines([identify.replacingOccurrences(of: "u1", with: "u9")], to: input)
            let sameSize = try Self.run(spool, ["day.ndjson"], in: dir)
            #expect(sameSize.status == 1 && sameSize.stderr.contains("same size, other content"))

            try Self.writeLines([identify, track], to: input)
            let forced = try Self.run(spool, ["day.ndjson"], in: dir, extra: ["--reprocess-changed"])
            #expect(forced.status == 0, "\(forced.stderr)")
            let contents = try SpoolContents(spool)
            #expect(try contents.lines("accepted").count == 2)
            #expect(try contents.lines("dropped").first?.contains("duplicate_message_id") == true)
            try Self.validate(spool)
        }
    }

    // MARK: The lock

    /// A run reading a FIFO holds the spool while it waits; a second run is refused
    /// with who holds it; the first then completes.
    @Test func aSecondRunOnASpoolInUseIsRefused() throws {
        try withTemporaryDirectory { dir in
            let spool = dir.appendingPathComponent("spool")
            let fifo = dir.appendingPathComponent("events.fifo")
            #expect(mkfifo(fifo.path, 0o600) == 0)
            let first = Process()
            first.executableURL = URL(fileURLWithPath: toolPath)
            first.arguments = ["run", "--spool", spool.path, fifo.path]
            first.standardError = FileHandle.nullDevice
            try first.run()
            let lock = spool.appendingPathComponent("state/lock")
            try waitUntil("the first run to take the lock") {
                (try? String(contentsOf: lock, encoding: .utf8))?.contains("process \(first.processIdentifier)") == true
            }
            let second = try runProgram(toolPath, ["run", "--spool", spool.path, fifo.path])
            #expect(second.status == 1)
            #expect(second.stderr.contains("is in use by another nudge-ingest run (process \(first.processIdentifier), started"))

            let writer = try FileHandle(forWritingTo: fifo)
            writer.write(Data(#"{"type":"identify","userId":"u"}"#.utf8 + [0x0A]))
            try writer.close()
            first.waitUntilExit()
            #expect(first.terminationStatus == 0)
            #expect(try SpoolContents(spool).lines("accepted").count == 1)
        }
    }

    // MARK: Failures are clean

    /// Past a file-size limit the run stops with a clear message and exit 1, leaving the
    /// commits before the failing input whole and nothing of that input; the same
    /// command without the limit then completes, equal to a run that never failed.
    @Test(.disabled(if: sanitizerInUse == "thread", "ThreadSanitizer's runtime cannot start under a small file-size limit"))
    func aFullDiskStopsCleanlyAndTheRerunCompletes() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("samples/segment-logs"),
                                             to: dir.appendingPathComponent("segment-logs"))
            let big = (0..<6000).map {
                #"{"type":"identify","userId":"user-\#($0)","traits":{"email":"u\#($0)@example.com","pad":"\#(String(repeating: "x", count: 100))"}}"#
            }
            try Self.writeLines(big, to: dir.appendingPathComponent("zz-big.ndjson"))
            let inputs = ["segment-logs", "zz-big.ndjson"]
            let reference = dir.appendingPathComponent("reference")
            #expect(try Self.run(reference, inputs, in: dir).status == 2)  // the sample ends with a truncated file

            let spool = dir.appendingPathComponent("spool")
            let limited = try runProgram("/bin/bash", [
                "-c", "ulimit -f 200 && exec \"$0\" run --spool \"$1\" segment-logs zz-big.ndjson", toolPath, spool.path,
            ], currentDirectory: dir)
            #expect(limited.status == 1, "\(limited.stderr)")
            #expect(limited.stderr.contains("cannot write") && limited.stderr.contains("File too large"))
            #expect(limited.stderr.contains("Nothing of the input being processed was committed"))
            let partial = try SpoolContents(spool)
            #expect(partial.ledger.count == 7, "the sample's seven files are committed, the big one is not")
            #expect(partial.ledger == Array(try SpoolContents(reference).ledger.prefix(7)))
            try Self.validate(spool)

            let rerun = try Self.run(spool, inputs, in: dir)
            #expect(rerun.status == 0, "\(rerun.stderr)")
            #expect(rerun.stderr.contains("7 inputs were committed to this spool already, skipped"))
            #expect(try SpoolContents(spool) == SpoolContents(reference))
            try Self.validate(spool)
        }
    }

    /// A damaged or truncated state file, a damaged ledger line, a missing spool file or
    /// a missing ledger: the run refuses with the file and the problem, and changes nothing.
    @Test func damagedStateIsReportedNeverTrusted() throws {
        try withTemporaryDirectory { dir in
            let root = try Self.generateExport(in: dir, files: 34, events: 3400, seed: 5)
            let pristine = dir.appendingPathComponent("pristine")
            #expect(try Self.run(pristine, [root], in: dir).status == 0)
            let state = pristine.appendingPathComponent("state")
            let names = try FileManager.default.contentsOfDirectory(atPath: state.path).sorted()
            // 34 commits: a snapshot after 32, then two journals.
            #expect(names == ["00000033.journal", "00000034.journal", "ledger.ndjson", "lock", "message-ids", "snapshot"])

            let extra = dir.appendingPathComponent("extra.ndjson")
            try Self.writeLines([#"{"type":"identify","userId":"late"}"#], to: extra)
            func expectRefused(_ name: String, problem: String, damage: (URL) throws -> Void) throws {
                let spool = dir.appendingPathComponent("damaged-\(name)")
                try FileManager.default.copyItem(at: pristine, to: spool)
                try damage(spool)
                let before = try SpoolContents(spool)
                let result = try Self.run(spool, ["extra.ndjson"], in: dir)
                #expect(result.status == 1, "\(name): \(result.stderr)")
                #expect(result.stderr.contains("is damaged: \(problem)"), "\(name): \(result.stderr)")
                #expect(result.stderr.contains("Restore the spool from a backup"))
                #expect(try SpoolContents(spool) == before, "\(name): the spool changed")
            }
            func flipByte(_ file: URL, at offset: Int) throws {
                var bytes = try Data(contentsOf: file)
                bytes[offset] ^= 0x20
                try bytes.write(to: file)
            }
            try expectRefused("journal-byte", problem: "checksum mismatch") {
                try flipByte($0.appendingPathComponent("state/00000034.journal"), at: 30)
            }
            try expectRefused("snapshot-byte", problem: "checksum mismatch") {
                let snapshot = $0.appendingPathComponent("state/snapshot")
                try flipByte(snapshot, at: try Data(contentsOf: snapshot).count / 2)
            }
            try expectRefused("snapshot-truncated", problem: "its end marker is missing") {
                let snapshot = $0.appendingPathComponent("state/snapshot")
                try Data(contentsOf: snapshot).dropLast(100).write(to: snapshot)
            }
            try expectRefused("journal-missing", problem: "the ledger says commit 33 wrote") {
                try FileManager.default.removeItem(at: $0.appendingPathComponent("state/00000033.journal"))
            }
            try expectRefused("spool-file-cut", problem: "the ledger says commit 5 wrote") {
                let file = $0.appendingPathComponent("accepted/00000005.ndjson.gz")
                try Data(contentsOf: file).dropLast(1).write(to: file)
            }
            try expectRefused("ledger-line", problem: "line 3 is not an intact ledger entry") {
                let ledger = $0.appendingPathComponent("state/ledger.ndjson")
                let bytes = try Data(contentsOf: ledger)
                let newlines = bytes.indices.filter { bytes[$0] == 0x0A }
                try flipByte(ledger, at: newlines[1] + 20)
            }
            try expectRefused("ledger-lost-commits", problem: "it holds commit 32, but the ledger ends at commit 31") {
                let ledger = $0.appendingPathComponent("state/ledger.ndjson")
                let lines = try String(contentsOf: ledger, encoding: .utf8).split(separator: "\n")
                try (lines.prefix(31).joined(separator: "\n") + "\n").write(to: ledger, atomically: false, encoding: .utf8)
            }
            try expectRefused("ledger-deleted", problem: "the spool holds records but no ledger") {
                try FileManager.default.removeItem(at: $0.appendingPathComponent("state/ledger.ndjson"))
            }
        }
    }

    /// Folders `0700`, files `0600`: the spool holds emails and phone numbers.
    @Test func everythingInTheSpoolIsPrivate() throws {
        try withTemporaryDirectory { dir in
            let root = try Self.generateExport(in: dir, files: 33, events: 660, seed: 9)
            let spool = dir.appendingPathComponent("spool")
            #expect(try Self.run(spool, [root], in: dir).status == 0)
            let paths = try FileManager.default.subpathsOfDirectory(atPath: spool.path)
            #expect(paths.contains("state/snapshot") && paths.contains("state/00000033.journal"))
            for path in [""] + paths {
                let full = spool.appendingPathComponent(path).path
                let attributes = try FileManager.default.attributesOfItem(atPath: full)
                let isFolder = attributes[.type] as? FileAttributeType == .typeDirectory
                #expect(attributes[.posixPermissions] as? Int == (isFolder ? 0o700 : 0o600), "\(path)")
            }
        }
    }

    // MARK: kill -9 at any instant

    /// Kills real runs at deterministic steps of the commit protocol (through
    /// `NUDGE_INGEST_CRASH_AT`) and on events seen from outside (the spool's lock taken,
    /// so the kill lands as the run recovers and reads; some commits made, so it lands
    /// wherever the next one stands), then reruns the same command: the spool must equal
    /// that of a run that was never interrupted, file for file and byte for byte, and
    /// pass the validator. Every kill lands, every run of the test.
    @Test func killedRunsResumeToTheSameSpool() throws {
        try withTemporaryDirectory { dir in
            let root = try Self.generateExport(in: dir, files: 40, events: 10_000, seed: 21)
            let reference = dir.appendingPathComponent("reference")
            #expect(try Self.run(reference, [root], in: dir).status == 0)
            let expected = try SpoolContents(reference)
            #expect(expected.ledger.count == 40)

            func expectResumed(_ spool: URL, _ label: String, extra: [String] = []) throws {
                let finished = try Self.run(spool, [root], in: dir, extra: extra)
                #expect(finished.status == 0, "\(label): \(finished.stderr)")
                #expect(try SpoolContents(spool) == expected, "\(label): the resumed spool differs")
                let leftovers = try FileManager.default.subpathsOfDirectory(atPath: spool.path)
                    .filter { $0.split(separator: "/").last?.hasPrefix(".") == true }
                #expect(leftovers.isEmpty, "\(label): \(leftovers)")
            }

            // Every step of the protocol, at a first, a middle and the last commit, and
            // both steps of the compaction after commit 32.
            // (The redrive, requeue and replay-destination points are tested by their own suites.)
            var armed = CrashPoint.allCases.filter {
                !$0.rawValue.hasPrefix("snapshot") && !$0.rawValue.hasPrefix("requeue")
                    && !$0.rawValue.hasPrefix("destination") && !$0.rawValue.hasPrefix("ids") && $0 != .replacedOne
            }
                .flatMap { point in [1, 17, 40].map { (point, $0) } }
            armed += [(.snapshotSynced, 32), (.snapshotRenamed, 32)]
            for (index, (point, commit)) in armed.enumerated() {
                let spool = dir.appendingPathComponent("armed-\(index)")
                let crashed = try Self.run(spool, [root], in: dir, environment: ["NUDGE_INGEST_CRASH_AT": "\(point.rawValue)@\(commit)"])
                #expect(crashed.status == 9, "\(point.rawValue)@\(commit) did not crash: \(crashed.status)")
                try expectResumed(spool, "\(point.rawValue)@\(commit)")
                if index == armed.count - 1 { try Self.validate(spool) }
            }

            // The message ids saved on disk: with no memory for them, every commit saves
            // its ids as a run, and four runs merge after every fourth commit. Killed while a run
            // is written, or between a merge and the removal of what it merged; resumed
            // with the same budget, or with the default one (which then reads the runs
            // and the journals after them). The spools equal the reference, whose ids
            // never left memory.
            let idPoints: [(CrashPoint, Int)] = [(.idsRunSynced, 1), (.idsRunSynced, 17), (.idsRunSynced, 40),
                                                 (.idsMerged, 4), (.idsMerged, 16), (.idsMerged, 40)]
            for (index, (point, commit)) in idPoints.enumerated() {
                let spool = dir.appendingPathComponent("ids-armed-\(index)")
                let crashed = try Self.run(spool, [root], in: dir, extra: ["--memory", "0"],
                                           environment: ["NUDGE_INGEST_CRASH_AT": "\(point.rawValue)@\(commit)"])
                #expect(crashed.status == 9, "\(point.rawValue)@\(commit) did not crash: \(crashed.status)")
                try expectResumed(spool, "\(point.rawValue)@\(commit)", extra: index % 2 == 0 ? ["--memory", "0"] : [])
            }

            // Kill sequences, three kills on one spool before it may finish: at a fresh
            // spool, at one being recovered (killed before), after a few commits or many
            // (with compaction's after 32); each kill leaves at least 10 commits to do.
            let sequences: [[KillEvent]] = [
                [.lockTaken, .lockTaken, .lockTaken], [.lockTaken, .commits(1), .commits(13)],
                [.commits(1), .lockTaken, .commits(20)], [.commits(2), .commits(2), .commits(2)],
                [.commits(5), .commits(9), .commits(15)], [.commits(12), .lockTaken, .commits(7)],
                [.commits(20), .commits(1), .lockTaken], [.commits(29), .lockTaken, .lockTaken],
                [.commits(3), .commits(25), .lockTaken], [.commits(30), .lockTaken, .commits(1)],
            ]
            for (index, sequence) in sequences.enumerated() {
                let spool = dir.appendingPathComponent("killed-\(index)")
                for event in sequence {
                    #expect(try Self.runAndKill(spool, [root], in: dir, when: event), "sequence \(index): \(event) came after the run ended")
                }
                try expectResumed(spool, "kill sequence \(index)")
            }
            try Self.validate(dir.appendingPathComponent("killed-\(sequences.count - 1)"))
        }
    }

    /// What a test sees of a run from outside, to kill it at.
    enum KillEvent: CustomStringConvertible {
        /// The run holds the spool's lock: it is recovering the spool or reading.
        case lockTaken
        /// The ledger has this many more commits than when the run started.
        case commits(Int)

        var description: String {
            switch self {
            case .lockTaken: "the lock taken"
            case .commits(let count): "\(count) commits"
            }
        }
    }

    /// Starts a run and sends it SIGKILL as soon as `event` is seen; returns whether the
    /// kill landed (the run had not ended on its own).
    static func runAndKill(_ spool: URL, _ inputs: [String], in dir: URL, when event: KillEvent) throws -> Bool {
        let ledger = spool.appendingPathComponent("state/ledger.ndjson")
        func commits() -> Int { ((try? Data(contentsOf: ledger)) ?? Data()).count(where: { $0 == 0x0A }) }
        let committedBefore = commits()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: toolPath)
        process.arguments = ["run", "--spool", spool.path] + inputs
        process.currentDirectoryURL = dir
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let lock = spool.appendingPathComponent("state/lock")
        try waitUntil("\(event)") {
            switch event {
            case .lockTaken:
                return (try? String(contentsOf: lock, encoding: .utf8))?.contains("process \(process.processIdentifier)") == true
                    || !process.isRunning
            case .commits(let count):
                return commits() >= committedBefore + count || !process.isRunning
            }
        }
        let landed = process.isRunning && kill(process.processIdentifier, SIGKILL) == 0
        process.waitUntilExit()
        return landed && process.terminationReason == .uncaughtSignal
    }
}
