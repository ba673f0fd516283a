import ArgumentParser
import NudgeIngest
import NudgeSystem

struct PreviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Show what `run` would decide for an event against the spool's current identity state, changing nothing.",
        discussion: """
            EVENT is one JSON event (it may be pretty-printed over several lines), or -
            to read NDJSON events from standard input, one a line. Each is decided by the
            same rules as `run`, against the users, identity links and messageIds the
            spool holds now: an accepted event shows the exact body Nudge would receive,
            a dropped one its reason code and detail. Events read together are decided
            in order, each seeing what the ones before did (an identify, then a track of
            that user: the track is accepted). The spool is not changed, and a run may
            be using it meanwhile.

            Examples:
              nudge-ingest preview --spool spool '{"type": "track", "userId": "u1",
                "event": "Signed Up", "timestamp": "2025-03-10T08:00:00Z"}'
              nudge-ingest audit list --spool spool --reason not_identified --all \\
                --format json | jq -c '.data[].raw | fromjson' \\
                | nudge-ingest preview --spool spool -

            With --json, each outcome is one line: {"line", "would_accept", "reason",
            "detail", "record"}, where record is exactly the accepted or dropped record
            `run` would write (schemas/preview-outcome.schema.json); `serve` answers
            POST /v1/preview in the same shape.

            Exit status: 0 decided (accepted or dropped alike); 1 usage error, or the
            spool could not be read.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The spool whose identity state to decide against.", valueName: "DIR"))
    var spool: String = "spool"

    @OptionGroup var lineLimit: LineLimitOption

    @Flag(name: .long, help: "One JSON object per event on standard output.")
    var json = false

    @Argument(help: ArgumentHelp("A JSON event, or - for NDJSON on standard input.", valueName: "EVENT"))
    var event: String

    func run() throws {
        var preview: Preview
        do {
            preview = try Preview(spool: spool, maxLineBytes: lineLimit.maxLineBytes, sourceName: event == "-" ? "-" : "preview")
        } catch {
            throw fail(error, progress: nil)
        }
        let show = { (outcome: Preview.Outcome) in
            if json {
                FileStream.standardOutput.write(outcome.json + "\n")
            } else {
                FileStream.standardOutput.write(outcome.text + "\n")
            }
        }
        guard event == "-" else {
            show(preview.decide(event: Self.argumentBytes(event)))
            return
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { (try? FileDescriptor.standardInput.read(into: $0)) ?? 0 }
            guard n > 0 else { break }
            chunk.withUnsafeBytes { preview.consume(UnsafeRawBufferPointer(rebasing: $0[..<n]), show) }
        }
        preview.finish(show)
    }

    /// The bytes the shell passed for the argument `text`. The argument parser hands a
    /// `String`, in which bytes that are not UTF-8 became U+FFFD; the event must be
    /// decided on its own bytes, as `run` and `preview -` decide it (`malformed_json`).
    static func argumentBytes(_ text: String) -> [UInt8] {
        for index in (1..<Int(CommandLine.argc)).reversed() {
            guard let argument = CommandLine.unsafeArgv[index] else { continue }
            var length = 0
            while argument[length] != 0 { length += 1 }
            let bytes = UnsafeRawBufferPointer(start: argument, count: length)
            if String(decoding: bytes, as: UTF8.self) == text { return Array(bytes) }
        }
        return Array(text.utf8)
    }
}
