import Foundation
import NudgeCore
import Testing

// What the test targets share: temporary directories, running programs (the tool, gzip,
// Python), the fixtures, and the in-memory record stage. It uses only the modules' public
// and package API, so it builds in any configuration.

/// The repository's root, found from this file's path (`Tests/NudgeTestSupport/…`).
package let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

package let fixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures")
/// Segment's published example events (sources in segment-spec-examples.SOURCES.md),
/// checked in so that a clone of the repository alone passes its tests.
package let segmentCorpus = repositoryRoot.appendingPathComponent("Tests/Fixtures")

private func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("nudge-ingest-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A fresh temporary directory, removed when the test's closure returns.
package func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    let url = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// A fresh temporary directory for an async test, removed when `body` returns.
package func withTemporaryDirectory<R>(_ body: (URL) async throws -> R) async throws -> R {
    let url = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url)
}

package struct ProcessResult {
    package var status: Int32
    package var stdout: Data
    package var stderr: String
    package var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs a program to completion, feeding `stdin`; output goes through temporary files
/// so neither pipe can fill up and stall the child.
@discardableResult
package func runProgram(_ executable: String, _ arguments: [String], stdin: Data? = nil,
                currentDirectory: URL? = nil, environment: [String: String]? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    if let environment { process.environment = environment }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("proc-\(UUID().uuidString)")
    let outURL = scratch.appendingPathExtension("out"), errURL = scratch.appendingPathExtension("err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    let outHandle = try FileHandle(forWritingTo: outURL), errHandle = try FileHandle(forWritingTo: errURL)
    process.standardOutput = outHandle
    process.standardError = errHandle
    let inPipe = Pipe()
    process.standardInput = stdin == nil ? FileHandle.nullDevice : inPipe
    try process.run()
    if let stdin {
        let writer = inPipe.fileHandleForWriting
        let thread = Thread {
            writer.write(stdin)
            try? writer.close()
        }
        thread.start()
    }
    process.waitUntilExit()
    try outHandle.close()
    try errHandle.close()
    return ProcessResult(status: process.terminationStatus, stdout: try Data(contentsOf: outURL),
                         stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}

/// The built `nudge-ingest` binary, beside the test bundle.
package var toolPath: String {
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    while dir.path != "/" {
        let candidate = dir.appendingPathComponent("nudge-ingest").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return repositoryRoot.appendingPathComponent(".build/debug/nudge-ingest").path
}

/// Compresses with the system's gzip: real gzip members made by an independent tool.
package func gzip(_ bytes: [UInt8], level: Int = 6) throws -> [UInt8] {
    let result = try runProgram("/usr/bin/env", ["gzip", "-c", "-\(level)", "-n"], stdin: Data(bytes))
    precondition(result.status == 0, "gzip failed: \(result.stderr)")
    return [UInt8](result.stdout)
}

/// What the system's gzip (`gzip -dc`, as `zcat`) inflates `bytes` to, every member
/// checked by an independent tool; nil where it refuses them.
package func gzipInflated(_ bytes: [UInt8]) throws -> [UInt8]? {
    let result = try runProgram("/usr/bin/env", ["gzip", "-dc"], stdin: Data(bytes))
    return result.status == 0 ? [UInt8](result.stdout) : nil
}

/// `gzipInflated` of bytes that must be whole gzip.
package func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
    guard let inflated = try gzipInflated(bytes) else { preconditionFailure("gzip -dc refused the bytes") }
    return inflated
}

/// The committed spool files of `folder` (`accepted/` or `dropped/`), by name: the
/// `NNNNNNNN.ndjson.gz` files (`.ndjson` of spools written before compression), no hidden ones.
package func spoolFileNames(in folder: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
        .filter { !$0.hasPrefix(".") && ($0.hasSuffix(".ndjson") || $0.hasSuffix(".ndjson.gz")) }.sorted()
}

/// A spool file as two spools with the same records compare it: a compressed file's
/// records (ISA-L has been seen to deflate the same records to different valid bytes
/// in two runs of one process, so the compressed bytes are not compared), and a ledger
/// (`ledger.ndjson`) without its commit times, checksums and compressed sizes.
package func comparableSpoolFile(named name: String, _ bytes: [UInt8]) throws -> [UInt8] {
    // A damaged file (a test cut it) as it is: gzip refuses it.
    if name.hasSuffix(".gz") { return try gzipInflated(bytes) ?? bytes }
    guard name.hasSuffix("ledger.ndjson") else { return bytes }
    let text = String(decoding: bytes, as: UTF8.self)
        .replacing(/"committed_at":"[^"]*",/, with: "").replacing(/,"crc32":"[0-9a-f]{8}"/, with: "")
        .replacing(/"(accepted|dropped)_bytes":[0-9]+,?/, with: "")
    return Array(text.utf8)
}

/// The records of a spool file as a user reads them with `zcat`: a compressed file
/// inflated by the system's gzip, a plain one as it is.
package func spoolFileRecords(_ file: URL) throws -> [UInt8] {
    let bytes = [UInt8](try Data(contentsOf: file))
    return file.pathExtension == "gz" ? try gunzip(bytes) : bytes
}

/// The rejected spool of `spool` (or of a destination's kept `folder`) as `zcat` gives
/// it: `rejected.ndjson.gz` inflated, or a plain `rejected.ndjson` (a spool whose
/// replays began before rejected records were compressed) as it is; nil when neither
/// exists.
package func rejectedSpoolRecords(_ spool: URL, folder: String = "rejected") -> Data? {
    let url = spool.appendingPathComponent(folder)
    for name in ["rejected.ndjson.gz", "rejected.ndjson"] {
        let file = url.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: file.path) { return (try? spoolFileRecords(file)).map { Data($0) } }
    }
    return nil
}

/// The records of the whole members at the start of a compressed spool file, read by
/// the system's gzip: a member that a writer has not finished (a file read while a
/// replay appends to it) is left out. A member's length is the `NI` field's first word.
package func wholeMembersInflated(_ bytes: [UInt8]) throws -> [UInt8] {
    var end = 0
    while end + 24 <= bytes.count {
        let length = bytes[(end + 16)..<(end + 20)].reversed().reduce(0) { $0 << 8 | Int($1) }
        guard length >= 24, end + length <= bytes.count else { break }
        end += length
    }
    return end == 0 ? [] : try gunzip(Array(bytes.prefix(end)))
}

/// The record lines of a spool folder (`accepted` or `dropped`), in commit order, as
/// `zcat` gives them, each with `prefix` (a folder of inputs) rewritten to `…`.
package func spoolRecordLines(_ spool: URL, _ folder: String, prefix: String = "") throws -> [String] {
    let url = spool.appendingPathComponent(folder)
    return try spoolFileNames(in: url).flatMap { name in
        String(decoding: try spoolFileRecords(url.appendingPathComponent(name)), as: UTF8.self)
            .split(separator: "\n").map { prefix.isEmpty ? String($0) : $0.replacingOccurrences(of: prefix, with: "…") }
    }
}

/// Rewrites `spool` as versions before compressed spools wrote it, for tests that such
/// spools are still read: each commit's `NNNNNNNN.ndjson.gz` inflated to
/// `NNNNNNNN.ndjson`, and its ledger line without `"compression"`, with the inflated
/// sizes and its checksum again. (Not for a spool a redrive rewrote files of.)
package func decompressSpool(_ spool: URL) throws {
    var sizes: [String: Int] = [:]  // "accepted/N" → inflated bytes
    for folder in ["accepted", "dropped"] {
        let url = spool.appendingPathComponent(folder)
        for name in spoolFileNames(in: url) where name.hasSuffix(".gz") {
            let records = try spoolFileRecords(url.appendingPathComponent(name))
            try Data(records).write(to: url.appendingPathComponent(String(name.dropLast(3))))
            try FileManager.default.removeItem(at: url.appendingPathComponent(name))
            sizes[folder + "/" + String(Int(name.prefix(8))!)] = records.count
        }
    }
    let ledger = spool.appendingPathComponent("state/ledger.ndjson")
    let lines = try String(contentsOf: ledger, encoding: .utf8).split(separator: "\n").map { line in
        let commit = Int(line.firstMatch(of: /"commit":(\d+)/)!.1)!
        var text = String(line.split(separator: ",\"crc32\"").first!)
            .replacing(",\"compression\":\"gzip\"", with: "")
            .replacing(/"accepted_bytes":\d+/, with: "\"accepted_bytes\":\(sizes["accepted/\(commit)"] ?? 0)")
            .replacing(/"dropped_bytes":\d+,"journal_bytes"/,
                       with: "\"dropped_bytes\":\(sizes["dropped/\(commit)"] ?? 0),\"journal_bytes\"")
        text += ",\"crc32\":\"" + String(crc32(Array(text.utf8)), radix: 16).leftPadded(to: 8) + "\"}"
        return text
    }
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: ledger)
}

/// CRC-32 (IEEE, as zlib's), computed here bit by bit: the tests' own, independent one.
package func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// Parses one JSON document with Foundation (tests only: the oracle, not the product).
package func parseJSON(_ bytes: some Collection<UInt8>) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
}

/// The outcome of one spool record: where it came from and what became of it.
package struct Outcome {
    package var file: String
    package var line: Int
    /// "accepted:identify", "accepted:track" or "dropped:<reason>".
    package var code: String
    package var record: [String: Any]

    /// Every record of both spools, in input order within each file.
    package static func all(accepted: [[String: Any]], dropped: [[String: Any]]) -> [Outcome] {
        let records = accepted.map { ("accepted:\($0["kind"] as! String)", $0) }
            + dropped.map { ("dropped:\($0["reason"] as! String)", $0) }
        return records.map { code, record in
            let source = record["source"] as! [String: Any]
            return Outcome(file: source["file"] as! String, line: source["line"] as! Int, code: code, record: record)
        }.sorted { ($0.file, $0.line) < ($1.file, $1.line) }
    }
}

/// Runs the decide-and-write stage over `text` framed as one input, in memory.
package struct InMemoryRun {
    package var accepted: [[String: Any]] = []
    package var dropped: [[String: Any]] = []
    package var counts: OutcomeCounts
    package var acceptedBytes: [UInt8]
    package var droppedBytes: [UInt8]

    package init(_ text: String, maxLineBytes: Int = 1 << 20, path: String = "input.ndjson") throws {
        try self.init(bytes: Array(text.utf8), maxLineBytes: maxLineBytes, path: path)
    }

    /// - Parameter chunk: feed the framer this many bytes at a time (all at once if nil).
    package init(bytes: [UInt8], maxLineBytes: Int = 1 << 20, path: String = "input.ndjson", chunk: Int? = nil) throws {
        var stage = RecordStage(maxLineBytes: maxLineBytes)
        var framer = LineFramer(maxLineBytes: maxLineBytes)
        let source = SourceFile(path: path)
        var acceptedOut = OutputBuffer(capacity: 16)
        var droppedOut = OutputBuffer(capacity: 16)
        bytes.withUnsafeBytes { raw in
            let step = max(chunk ?? raw.count, 1)
            var start = 0
            while start < raw.count {
                let end = min(start + step, raw.count)
                stage.decide(UnsafeRawBufferPointer(rebasing: raw[start..<end]), framedBy: &framer, source: source,
                             accepted: &acceptedOut, dropped: &droppedOut)
                start = end
            }
        }
        stage.finish(framedBy: &framer, source: source, accepted: &acceptedOut, dropped: &droppedOut)
        counts = stage.counts
        acceptedBytes = acceptedOut.bytes
        droppedBytes = droppedOut.bytes
        accepted = try Self.records(acceptedBytes)
        dropped = try Self.records(droppedBytes)
        // The conservation law, on every input a test feeds through here.
        #expect(accepted.count + dropped.count == counts.records)
        #expect(counts.records == counts.accepted + counts.dropped)
    }

    package static func records(_ ndjson: [UInt8]) throws -> [[String: Any]] {
        try ndjson.split(separator: 0x0A).map { try parseJSON($0) as! [String: Any] }
    }

    /// Every record's outcome code, in line order.
    package var codes: [String] { Outcome.all(accepted: accepted, dropped: dropped).map(\.code) }

    /// The body of the only accepted record.
    package var onlyBody: [String: Any]? {
        accepted.count == 1 ? accepted[0]["body"] as? [String: Any] : nil
    }
}

/// The peak resident set the tool must stay under, whatever its input, with lines up
/// to the default `--max-line-bytes`: the runtime, the pipeline's 4 MiB of slots, the
/// 1 MiB line carry and the spool's buffers.
package let memoryBoundMiB = 64

/// A program's run measured from outside: exit status, output, its own peak resident
/// set and its wall time.
package struct MeasuredRun {
    package var status: Int32
    package var stdout: Data
    package var stderr: String
    package var peakKiB: Int
    package var seconds: Double
}

/// Runs a program with its output to files and measures it.
///
/// A small Python process `fork`s and `exec`s the program and reports `wait4` on that
/// child. Spawning it from this test process directly would not do: `posix_spawn`
/// uses `vfork`, and until `exec` the child shares this process's memory, so the
/// kernel would count this test runner's peak as the child's.
package func runMeasured(_ path: String, _ arguments: [String]) throws -> MeasuredRun {
    let script = """
        import os, sys, time
        out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.dup2(out, 1)
            os.dup2(err, 2)
            os.execv(sys.argv[3], sys.argv[3:])
        _, status, usage = os.wait4(pid, 0)
        print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, time.monotonic() - started)
        """
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("measured-\(UUID().uuidString)")
    let outURL = scratch.appendingPathExtension("out"), errURL = scratch.appendingPathExtension("err")
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    let result = try runProgram("/usr/bin/env", ["python3", "-c", script, outURL.path, errURL.path, path] + arguments)
    let fields = result.stdoutText.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    guard result.status == 0, fields.count == 3, let status = Int32(fields[0]), let peak = Int(fields[1]),
          let seconds = Double(fields[2]) else {
        throw MeasuringFailed(detail: result.stdoutText + result.stderr)
    }
    return MeasuredRun(status: status, stdout: try Data(contentsOf: outURL),
                       stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self),
                       peakKiB: peak, seconds: seconds)
}

package struct MeasuringFailed: Error {
    package var detail: String
}

/// Whether the package was built with its HTTP trait (on by default), so that the tool
/// can replay. CI's sanitizer builds turn it off to leave SwiftNIO out (`.ci/run`); the
/// tests that send over HTTP then stand aside.
#if HTTP
package let toolCanReplay = true
#else
package let toolCanReplay = false
#endif

/// The sanitizer these tests were built with (`swift test --sanitize=…`), if any: its
/// runtime is linked into the test binary and the tool alike.
package let sanitizerInUse: String? = {
    for (symbol, name) in [("__asan_init", "address"), ("__tsan_init", "thread")] where dlsym(nil, symbol) != nil {
        return name
    }
    return nil
}()
