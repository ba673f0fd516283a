import ArgumentParser
import Dispatch
import NudgeCore
import NudgeIngest
import NudgeRendering
import NudgeSpool
import NudgeSystem
import Synchronization

/// Ctrl-C during a command that stops at a safe point: the first asks it to stop (the
/// command checks ``isRequested``), a second exits at once with 130 (the spool is
/// crash-safe: the next command recovers it).
final class Interruption {
    private final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    private let requested = Flag()
    private let source: any DispatchSourceSignal

    init(progress: ProgressLine?) {
        source = CurrentProcess.handleInterrupts { [requested] in
            if requested.value.exchange(true, ordering: .relaxed) {
                progress?.clear()
                FileStream.standardError.write("nudge-ingest: interrupted again: stopping now\n")
                CurrentProcess.exitImmediately(130)
            }
            progress?.clear()
            FileStream.standardError.write("nudge-ingest: interrupted: stopping; the input being read is not "
                                           + "committed, the ones before it are. Ctrl-C again to stop at once\n")
        }
    }

    var isRequested: Bool { requested.value.load(ordering: .relaxed) }
}
