import NudgeTestSupport
import Testing
@testable import NudgeIngest
@testable import NudgeRendering

/// Replay's text for people (`NudgeRendering`): the progress line.
@Suite struct ReplayRenderingTests {
    /// The progress line fits the terminal: what does not fit is left out, least
    /// useful first; the counts, the ETA and the last problem stay.
    @Test func theProgressLineFitsTheTerminal() {
        let progress = ReplayProgress(answered: 12_000, total: 61_238, rejected: 3, inFlight: 17, concurrency: 32,
                                      retries: 1_204, elapsedSeconds: 20, lastProblem: "HTTP 503")
        let wide = progress.line(width: 200)
        #expect(wide == "12,000 of 61,238 records (19.6 %) · 3 rejected · 17/32 in flight · 1,204 retries · last: HTTP 503 · ETA 1:22")
        for width in [100, 80, 60] {
            let line = progress.line(width: width)
            #expect(line.count <= width - 1, "\(width): \(line)")
            #expect(line.hasPrefix("12,000 of 61,238 records (19.6 %)") && line.hasSuffix("ETA 1:22"), "\(width): \(line)")
            #expect(line.contains("last: HTTP 503") || width < 80, "\(width): \(line)")
        }
        #expect(progress.line(width: 80) == "12,000 of 61,238 records (19.6 %) · 3 rejected · last: HTTP 503 · ETA 1:22")
    }
}
