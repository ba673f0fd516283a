import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// Memory does not grow with input size: the real binary reads far more than its
/// memory bound, with its peak resident set read back from the kernel.
@Suite struct MemoryBoundTests {
    /// Sanitizers add their own memory; the bound is for the tool as users run it.
    @Test(.disabled(if: sanitizerInUse != nil, "a sanitizer's shadow memory is not the tool's"))
    func peakMemoryStaysFarBelowTheInputSize() throws {
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

            let result = try runMeasured(toolPath, ["run", "--spool", dir.appendingPathComponent("spool").path, "--json", input.path])
            #expect(result.status == 0, "\(result.stderr)")
            let summary = try #require(try parseJSON(result.stdout) as? [String: Any])
            let uncompressed = try #require(summary["uncompressed_bytes"] as? Int)
            #expect(uncompressed > 150_000_000)
            #expect((summary["reasons"] as? [String: Int])?["line_too_long"] == 1)
            #expect(summary["records"] as? Int == members * 1001 + 1)
            let peakMiB = result.peakKiB / 1024
            #expect(result.peakKiB > 1024, "the measurement must see the process")
            #expect(peakMiB < memoryBoundMiB, "peak RSS \(peakMiB) MiB for \(uncompressed / 1_000_000) MB of input")
        }
    }
}
