import Foundation
import Testing
@testable import NudgeIngest

/// Memory does not grow with input size: the real binary reads far more than its
/// memory bound, with its peak resident set read back from the kernel.
@Suite struct MemoryBoundTests {
    @Test func peakMemoryStaysFarBelowTheInputSize() throws {
        try withTemporaryDirectory { dir in
            // 160 MB of realistic tracks (no messageId, one user: no state to grow),
            // compressing to a small gzip file, plus one 3 MB line the framer must cut.
            let line = "{\"type\":\"track\",\"event\":\"Product Viewed\",\"userId\":\"u\",\"timestamp\":\"2025-01-01T00:00:00Z\","
                + "\"properties\":{\"sku\":\"A-1\",\"price\":9.5,\"tags\":[\"x\",\"y\"],\"note\":\""
                + String(repeating: "ü", count: 400) + "\"}}\n"
            var block = Array("{\"type\":\"identify\",\"userId\":\"u\"}\n".utf8)
            for _ in 0..<1000 { block += Array(line.utf8) }
            let blockGzip = try gzip(block, level: 9)
            var file = Data()
            let members = 160_000_000 / block.count
            for _ in 0..<members { file.append(contentsOf: blockGzip) }
            file.append(contentsOf: try gzip([UInt8](repeating: 0x41, count: 3_000_000) + [0x0A], level: 9))
            let input = dir.appendingPathComponent("big.gz")
            try file.write(to: input)

            let output = dir.appendingPathComponent("summary.json")
            let (status, peakKiB) = try runMeasuringPeakMemory(
                toolPath, ["run", "--spool", dir.appendingPathComponent("spool").path, "--json", input.path],
                stdout: output.path)
            let result = ProcessResult(status: status, stdout: try Data(contentsOf: output), stderr: "")
            #expect(result.status == 0, "\(result.stderr)")
            let summary = try #require(try parseJSON(result.stdout) as? [String: Any])
            let uncompressed = try #require(summary["uncompressed_bytes"] as? Int)
            #expect(uncompressed > 150_000_000)
            #expect((summary["reasons"] as? [String: Int])?["line_too_long"] == 1)
            #expect(summary["records"] as? Int == members * 1001 + 1)
            let peakMiB = peakKiB / 1024
            #expect(peakKiB > 1024, "the measurement must see the process")
            #expect(peakMiB < 64, "peak RSS \(peakMiB) MiB for \(uncompressed / 1_000_000) MB of input")
        }
    }
}

/// Runs a program with standard output to a file and returns its exit status and its
/// own peak resident set (KiB).
///
/// A small Python process `fork`s and `exec`s the program and reports `wait4` on that
/// child. Spawning it from this test process directly would not do: `posix_spawn`
/// uses `vfork`, and until `exec` the child shares this process's memory, so the
/// kernel would count this test runner's peak as the child's.
func runMeasuringPeakMemory(_ path: String, _ arguments: [String], stdout: String) throws -> (Int32, Int) {
    let script = """
        import os, sys
        out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        pid = os.fork()
        if pid == 0:
            os.dup2(out, 1)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.execv(sys.argv[2], sys.argv[2:])
        _, status, usage = os.wait4(pid, 0)
        print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
        """
    let result = try runProgram("/usr/bin/env", ["python3", "-c", script, stdout, path] + arguments)
    let fields = result.stdoutText.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    try #require(result.status == 0 && fields.count == 2, "measuring failed: \(result.stderr)")
    return (Int32(fields[0]), fields[1])
}
