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

    /// The fault `run` records for an input that could not be read to its end
    /// (unreadable or corrupt): the compressed byte offset, the line it interrupted and
    /// why; nil for one read whole, refused or stopped (none of those is the input's fault).
    package var fault: (offset: Int, line: Int, message: String)? {
        switch stage.end {
        case .unreadable(let why): (stage.faultOffset, faultLine, "cannot read: \(why)")
        case .corrupt(let fault): (stage.faultOffset, faultLine, fault.message)
        case .complete, .stopped, .refused: nil
        }
    }

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
