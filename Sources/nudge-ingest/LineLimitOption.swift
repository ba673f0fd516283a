import ArgumentParser
import Dispatch
import NudgeCore
import NudgeIngest
import NudgeRendering
import NudgeSpool
import NudgeSystem
import Synchronization

/// `--max-line-bytes`, shared by the commands that decide records.
struct LineLimitOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Lines longer than this many bytes are dropped as line_too_long.", valueName: "N"))
    var maxLineBytes: Int = 1 << 20

    func validate() throws {
        guard maxLineBytes > 0 && maxLineBytes <= 1 << 30 else {
            throw ValidationError("--max-line-bytes must be between 1 and 1073741824.")
        }
    }
}
