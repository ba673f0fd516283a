import ArgumentParser
import Dispatch
import NudgeCore
import NudgeIngest
import NudgeRendering
import NudgeSpool
import NudgeSystem
import Synchronization

/// A progress line redrawn in place on a terminal, never wider than the terminal (a
/// line that wrapped would leave a copy behind at every redraw).
final class ProgressLine: Sendable {
    /// A progress line when standard error is a terminal; nil otherwise (a log file
    /// gets the summary only).
    static func onTerminal() -> ProgressLine? {
        FileDescriptor.standardError.isTerminal ? ProgressLine() : nil
    }

    func show(_ progress: RunProgress) {
        draw(progress.line(width: Self.width))
    }

    /// `head · tail`, `tail` (a path) shortened in its middle to fit.
    func show(_ head: String, _ tail: String = "") {
        draw(tail.isEmpty ? String(head.prefix(Self.width - 1)) : fitted(head, tail, width: Self.width))
    }

    private func draw(_ line: String) {
        FileStream.standardError.write("\r\u{1B}[2K" + line)
    }

    func clear() {
        FileStream.standardError.write("\r\u{1B}[2K")
    }

    /// A ``ScanProgress`` that draws `what 45% · ETA 3s` on this line.
    func scan(_ what: String) -> ScanProgress {
        ScanProgress { [self] fraction, secondsLeft in
            show("\(what) \(Int(fraction * 100))%" + (secondsLeft.map { " · ETA " + duration($0) } ?? ""))
        }
    }

    /// The terminal's width now (it may be resized while a run goes on); 80 when unknown.
    static var width: Int {
        FileDescriptor.standardError.terminalColumns ?? 80
    }
}
