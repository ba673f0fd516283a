import Foundation
import NudgeTestSupport
import Testing

#if HTTP
/// `nudge-ingest run s3://…` end to end: the built tool against a real S3-compatible
/// server on loopback (moto, which checks every request's Signature V4), holding the
/// bundled sample export and a generated one, next to the same files on disk.
@Suite(.serialized, .enabled(if: MotoServer.isInstalledOrRequired, "needs moto's server: pip install 'moto[server]'"))
struct S3RunTests {
    /// The bundled sample and a generated export (three objects of about 800 KB) under
    /// `segment-logs/` in `dir`, and the same bytes by key.
    static func export(in dir: URL) throws -> [String: [UInt8]] {
        let logs = dir.appendingPathComponent("segment-logs")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("samples/segment-logs"), to: logs)
        _ = try DurabilityTests.generateExport(in: dir, files: 3, events: 8_000, seed: 23)
        var objects: [String: [UInt8]] = [:]
        let walk = FileManager.default.enumerator(at: logs, includingPropertiesForKeys: nil)!
        for case let url as URL in walk where !url.hasDirectoryPath {
            objects[String(url.path.dropFirst(dir.path.count + 1))] = [UInt8](try Data(contentsOf: url))
        }
        return objects
    }

    /// The tool's environment for `moto`: its key, no profile, no shared files.
    static func environment(_ moto: MotoServer, home: URL, secret: String? = nil) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
        environment["HOME"] = home.path
        environment["AWS_ACCESS_KEY_ID"] = moto.accessKeyID
        environment["AWS_SECRET_ACCESS_KEY"] = secret ?? moto.secretAccessKey
        environment["AWS_REGION"] = "us-east-1"
        return environment
    }

    /// A spool's records, one string each, with `source.file` rewritten from `prefix`.
    static func records(_ spool: URL, _ folder: String, prefix: String) throws -> [String] {
        try spoolRecordLines(spool, folder, prefix: prefix)
    }

    /// Every byte the tool wrote under `spool`, as text (compressed files inflated).
    static func everything(in spool: URL) throws -> String {
        var text = ""
        let walk = FileManager.default.enumerator(at: spool, includingPropertiesForKeys: nil)!
        for case let url as URL in walk where !url.hasDirectoryPath {
            text += String(decoding: try spoolFileRecords(url), as: UTF8.self)
        }
        return text
    }

    @Test func aRunOverTheBucketEqualsARunOverTheFilesAndASecondHasNothingToDo() throws {
        try withTemporaryDirectory { dir in
            let objects = try Self.export(in: dir.appendingPathComponent("disk"))
            let moto = try MotoServer(bucket: "archive", objects: objects)
            let environment = Self.environment(moto, home: dir)
            let localSpool = dir.appendingPathComponent("local"), s3Spool = dir.appendingPathComponent("s3")

            let local = try runProgram(toolPath, ["run", "--spool", localSpool.path, "--json",
                                                  dir.appendingPathComponent("disk/segment-logs").path])
            let s3 = try runProgram(toolPath, ["run", "--spool", s3Spool.path, "--json", "--jobs", "3",
                                               "--s3-endpoint", moto.endpoint, "s3://archive/segment-logs/"],
                                    environment: environment)
            // The sample holds a truncated file: exit 2 for both, its lines kept.
            #expect(local.status == 2 && s3.status == 2, "\(s3.stderr)")
            let localSummary = try #require(try parseJSON(local.stdout) as? [String: Any])
            let s3Summary = try #require(try parseJSON(s3.stdout) as? [String: Any])
            for field in ["records", "accepted", "dropped", "corrupt_inputs"] {
                #expect(s3Summary[field] as? Int == localSummary[field] as? Int, "\(field)")
            }
            #expect((s3Summary["records"] as? Int ?? 0) > 8_000)
            let paths = (s3Summary["inputs"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
            #expect(paths == objects.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { "s3://archive/" + $0 })
            for folder in ["accepted", "dropped"] {
                let fromFiles = try Self.records(localSpool, folder, prefix: dir.appendingPathComponent("disk").path)
                let fromBucket = try Self.records(s3Spool, folder, prefix: "s3://archive")
                #expect(fromBucket == fromFiles, "\(folder)")
            }
            // The spool (its ledger with the objects' ETags) and the summary (with what was
            // asked of S3) are as schemas/ says.
            let summaryFile = dir.appendingPathComponent("s3-summary.json")
            try s3.stdout.write(to: summaryFile)
            let check = try runProgram("/usr/bin/env", [
                "python3", repositoryRoot.appendingPathComponent("scripts/validate_spool.py").path,
                "--spool", s3Spool.path, "--summary", summaryFile.path])
            #expect(check.status == 0, "validate_spool.py: \(check.stdoutText) \(check.stderr)")
            let requests = try #require(s3Summary["s3"] as? [String: Any])
            // Every byte once; the truncated sample file twice where ISA-L inflates (zlib
            // reads a broken stream again to report its fault as zlib does).
            let truncated = objects.first { $0.key.hasSuffix("1741737596216.879c10032bdd.gz") }!.value.count
            let extra = (requests["bytes"] as? Int ?? 0) - objects.values.reduce(0) { $0 + $1.count }
            #expect(extra == 0 || extra == truncated, "\(extra)")
            // The secret is in no output and no spool file; the key id may be.
            #expect(!(s3.stdoutText + s3.stderr + (try Self.everything(in: s3Spool))).contains(moto.secretAccessKey))

            // A second run lists the same objects: nothing to do.
            let again = try runProgram(toolPath, ["run", "--spool", s3Spool.path, "--json", "--s3-endpoint", moto.endpoint,
                                                  "s3://archive/segment-logs"], environment: environment)
            #expect(again.status == 0 && again.stderr.contains("nothing to do"), "\(again.stderr)")

            // The audit filters by the objects' URLs.
            let audit = try runProgram(toolPath, ["audit", "list", "--spool", s3Spool.path, "--format", "json",
                                                  "--limit", "1000", "--file", "s3://archive/segment-logs/Ky9Pf34qY6/"])
            let listed = try #require(try parseJSON(audit.stdout) as? [String: Any])["data"] as? [[String: Any]] ?? []
            let files = Set(listed.compactMap { ($0["source"] as? [String: Any])?["file"] as? String })
            #expect(!listed.isEmpty && files.allSatisfy { $0.hasPrefix("s3://archive/segment-logs/Ky9Pf34qY6/") })
            // `audit --file` limits the report to them: the bundled sample's counts alone.
            let report = try runProgram(toolPath, ["audit", "--spool", s3Spool.path, "--format", "json",
                                                   "--file", "s3://archive/segment-logs/Ky9Pf34qY6"])
            let sample = try #require(try parseJSON(report.stdout) as? [String: Any])
            #expect([sample["records"], sample["accepted"], sample["dropped"], sample["corrupt_inputs"]] as? [Int]
                    == [404, 204, 200, 1], "\(report.stderr)")
            #expect((sample["files"] as? [[String: Any]])?.count == 7)

            // An object written again (another ETag) is refused, unless asked.
            let changedKey = objects.keys.sorted().last!
            try moto.put(bucket: "archive", key: changedKey, bytes: try gzip(Array(
                #"{"type":"identify","userId":"late","messageId":"late-1"}"#.utf8) + [0x0A]))
            let refused = try runProgram(toolPath, ["run", "--spool", s3Spool.path, "--s3-endpoint", moto.endpoint,
                                                    "s3://archive/segment-logs/"], environment: environment)
            #expect(refused.status == 1 && refused.stderr.contains("s3://archive/\(changedKey): ETag"), "\(refused.stderr)")
            let reprocessed = try runProgram(toolPath, ["run", "--spool", s3Spool.path, "--json", "--reprocess-changed",
                                                        "--s3-endpoint", moto.endpoint, "s3://archive/segment-logs/"],
                                             environment: environment)
            let summary = try #require(try parseJSON(reprocessed.stdout) as? [String: Any])
            #expect(reprocessed.status == 0 && summary["accepted"] as? Int == 1, "\(reprocessed.stderr)")
        }
    }

    @Test func aCutConnectionAndSlowDownsGiveTheSameSpool() throws {
        try withTemporaryDirectory { dir in
            let objects = try Self.export(in: dir.appendingPathComponent("disk")).filter { !$0.key.contains("Ky9Pf34qY6") }
            let moto = try MotoServer(bucket: "archive", objects: objects)
            let environment = Self.environment(moto, home: dir)
            let direct = dir.appendingPathComponent("direct")
            let run = { (spool: URL, endpoint: String) in
                try runProgram(toolPath, ["run", "--spool", spool.path, "--jobs", "1", "--s3-endpoint", endpoint,
                                          "s3://archive/segment-logs/"], environment: environment)
            }
            #expect(try run(direct, moto.endpoint).status == 0)
            // The first object's connection is cut 300,000 bytes in: it resumes with a
            // ranged GET under its ETag.
            let cut = try LoopbackProxy(upstreamPort: moto.port, mode: "cut:300000")
            let resumed = dir.appendingPathComponent("resumed")
            let afterCut = try run(resumed, cut.endpoint)
            #expect(afterCut.status == 0 && afterCut.stderr.contains("(1 resumed after a dropped connection)"),
                    "\(afterCut.stderr)")
            // Every answer is cut 60,000 bytes in, about 14 times an object: more than the
            // 10 attempts allowed, but each cut comes after bytes arrived, so none is spent.
            let flaky = try LoopbackProxy(upstreamPort: moto.port, mode: "cuteach:60000")
            let patient = dir.appendingPathComponent("patient")
            let afterCuts = try run(patient, flaky.endpoint)
            let cuts = afterCuts.stderr.firstMatch(of: /\((\d+) resumed after a dropped connection\)/).flatMap { Int($0.1) }
            #expect(afterCuts.status == 0 && (cuts ?? 0) > 30, "\(afterCuts.stderr)")
            // The first two requests are answered 503 SlowDown: retried.
            let slow = try LoopbackProxy(upstreamPort: moto.port, mode: "slowdown:2")
            let retried = dir.appendingPathComponent("retried")
            let afterSlowDowns = try run(retried, slow.endpoint)
            #expect(afterSlowDowns.status == 0 && afterSlowDowns.stderr.contains("; 2 retried (0 resumed"),
                    "\(afterSlowDowns.stderr)")
            for folder in ["accepted", "dropped"] {
                let expected = try Self.records(direct, folder, prefix: "")
                #expect(expected.count > 1_000)
                #expect(try Self.records(resumed, folder, prefix: "") == expected, "\(folder)")
                #expect(try Self.records(retried, folder, prefix: "") == expected, "\(folder)")
                #expect(try Self.records(patient, folder, prefix: "") == expected, "\(folder)")
            }
        }
    }

    /// A typo in the prefix lists nothing: exit 1 with the prefix named, no spool made.
    /// A spool copied into the bucket is skipped and named, never read.
    @Test func anEmptyPrefixIsAnErrorAndASpoolInTheBucketIsSkipped() throws {
        try withTemporaryDirectory { dir in
            let line = Array(#"{"type":"identify","userId":"u1"}\#n"#.utf8)
            let moto = try MotoServer(bucket: "archive", objects: [
                "segment-logs/1741564800000/a.ndjson": line, "segment-logs/spool/state/ledger.ndjson": line,
                "segment-logs/spool/accepted/00000001.ndjson": line,
            ])
            let spool = dir.appendingPathComponent("spool")
            let typo = try runProgram(toolPath, ["run", "--spool", spool.path, "--s3-endpoint", moto.endpoint,
                                                 "s3://archive/segment-logz/"],
                                      environment: Self.environment(moto, home: dir))
            #expect(typo.status == 1)
            #expect(typo.stderr.contains("s3://archive/segment-logz/: no input object under this prefix; check the bucket "
                                         + "and prefix (aws s3 ls s3://archive/segment-logz/)"), "\(typo.stderr)")
            #expect(typo.stderr.contains("Nothing was read or committed."))
            #expect(!FileManager.default.fileExists(atPath: spool.path), "a typo must not make a spool")

            let run = try runProgram(toolPath, ["run", "--spool", spool.path, "--json", "--s3-endpoint", moto.endpoint,
                                                "s3://archive/segment-logs/"],
                                     environment: Self.environment(moto, home: dir))
            #expect(run.status == 0, "\(run.stderr)")
            let summary = try #require(try parseJSON(run.stdout) as? [String: Any])
            #expect((summary["inputs"] as? [[String: Any]])?.map { $0["path"] as? String }
                    == ["s3://archive/segment-logs/1741564800000/a.ndjson"])
            #expect((summary["left_out"] as? [String: [String]])?["spools"] == ["s3://archive/segment-logs/spool"])
        }
    }

    @Test func refusalsNameTheKeyAndTheBucketNeverTheSecret() throws {
        try withTemporaryDirectory { dir in
            let moto = try MotoServer(bucket: "archive", objects: ["a.ndjson": Array("{}\n".utf8)])
            let wrongSecret = "wrong/secret+never-to-be-printed-0123456789"
            let refused = try runProgram(toolPath, ["run", "--spool", dir.appendingPathComponent("spool").path,
                                                    "--s3-endpoint", moto.endpoint, "s3://archive/"],
                                         environment: Self.environment(moto, home: dir, secret: wrongSecret))
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("access key \(moto.accessKeyID) on bucket archive"), "\(refused.stderr)")
            #expect(!refused.stderr.contains(wrongSecret) && !refused.stdoutText.contains(wrongSecret))

            let missing = try runProgram(toolPath, ["run", "--spool", dir.appendingPathComponent("spool").path,
                                                    "--s3-endpoint", moto.endpoint, "s3://no-such-bucket/logs/"],
                                         environment: Self.environment(moto, home: dir))
            #expect(missing.status == 1 && missing.stderr.contains("no bucket no-such-bucket"), "\(missing.stderr)")

            var noCredentials = Self.environment(moto, home: dir)
            noCredentials["AWS_ACCESS_KEY_ID"] = nil
            noCredentials["AWS_SECRET_ACCESS_KEY"] = nil
            let unconfigured = try runProgram(toolPath, ["run", "--spool", dir.appendingPathComponent("spool").path,
                                                         "--s3-endpoint", moto.endpoint, "s3://archive/"],
                                              environment: noCredentials)
            #expect(unconfigured.status == 1 && unconfigured.stderr.contains("aws configure export-credentials"),
                    "\(unconfigured.stderr)")
        }
    }
}
#endif
