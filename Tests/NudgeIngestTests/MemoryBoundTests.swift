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
/// own peak resident set (KiB), from `wait4` on exactly that child.
func runMeasuringPeakMemory(_ path: String, _ arguments: [String], stdout: String) throws -> (Int32, Int) {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid = pid_t()
    let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
    try #require(spawned == 0, "posix_spawn failed: \(spawned)")
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    return (exitStatus, Int(usage.ru_maxrss))
}
