import NudgeCore
import NudgeSpool
import NudgeSystem

/// What the reader saw of one input, framing included.
package struct ReadReport: Sendable {
    package var stage: DecompressReport
    /// For a fault: the physical line it interrupted, and the fragment before it.
    package var faultLine = 0
    package var fragment: [UInt8] = []
    package var fragmentLength = 0

    /// Completes the decompress stage's report with what the framer holds after the
    /// stream: where it ended at a fault, the fragment of the line it interrupted.
    /// (A stream that ended whole hands its last line out with ``LineFramer/finish()``.)
    init(_ stage: DecompressReport, framer: borrowing LineFramer) {
        self.stage = stage
        guard stage.end != .complete else { return }
        if let (line, prefix, length) = framer.pendingFragment(limit: RecordLimits.rawBytes + 4) {
            (faultLine, fragment, fragmentLength) = (line, prefix, length)
        } else {
            faultLine = framer.linesSeen + 1
        }
    }
}
