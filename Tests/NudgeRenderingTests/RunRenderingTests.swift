import NudgeCore
import NudgeRendering
import NudgeSpool
import Testing
@testable import NudgeIngest

/// What `run` shows people: its progress line and its summary on standard error, made
/// from the values the run returns.
@Suite struct RunRenderingTests {
    static let progress = RunProgress(
        inputIndex: 1, inputCount: 8, path: "segment-logs/src/1743033600000/part-2.gz",
        inputBytesRead: 12_000_000, inputBytesTotal: 40_000_000, bytesBefore: 60_000_000, bytesTotal: 194_500_000,
        records: 547_499, elapsedSeconds: 30)

    @Test func theProgressLineSaysTheShareOfTheWholeRunAndItsETA() {
        #expect(Self.progress.line(width: 160)
            == "[2/8] 37% of 194.5 MB · ETA 52s · 547,499 records · 18,249/s · segment-logs/src/1743033600000/part-2.gz")
        var unknownTotal = Self.progress
        unknownTotal.bytesTotal = nil
        #expect(unknownTotal.line(width: 160).hasPrefix("[2/8] this input 30% · 547,499 records"))
    }

    @Test func theProgressLineNeverWrapsAndShortensThePathInItsMiddle() {
        for width in 20...120 {
            let line = Self.progress.line(width: width)
            #expect(line.count <= width - 1, "width \(width): \(line)")
        }
        let narrow = Self.progress.line(width: 90)
        #expect(narrow.contains("…") && narrow.hasSuffix("part-2.gz") && narrow.hasPrefix("[2/8] 37%"), "\(narrow)")
    }

    @Test func durationsReadAsATimeLeft() {
        #expect(duration(11.2) == "12s")
        #expect(duration(80) == "1m 20s")
        #expect(duration(7500) == "2h 05m")
    }

    @Test func aStoppedRunSaysHowFarItGotAndHowToContinue() {
        var summary = RunSummary(spool: "spool")
        summary.planned = 3
        summary.stopped = "s3://b/logs/2.gz: gave up after 3 failed attempts in a row"
        summary.inputs = ["s3://b/logs/0.gz", "s3://b/logs/1.gz"].map {
            InputSummary(path: $0, format: .gzip, bytes: 10, uncompressedBytes: 20, counts: OutcomeCounts(), status: .ok)
        }
        let lines = summary.report.split(separator: "\n").map(String.init)
        #expect(lines.first == "nudge-ingest run: 0 records from 2 inputs → spool spool")
        #expect(lines.suffix(2) == ["  stopped: s3://b/logs/2.gz: gave up after 3 failed attempts in a row",
                                    "  2 of 3 inputs committed; run the same command again to continue"])
    }

    @Test func aRunThatCommittedNothingSaysWhy() {
        var summary = RunSummary(spool: "spool")
        summary.interrupted = true
        #expect(summary.report == "nudge-ingest run: interrupted before any input was committed (spool spool)\n"
            + "  run the same command again to continue")
    }
}
