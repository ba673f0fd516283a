import ArgumentParser
import NudgeCore
import NudgeIngest
import NudgeSpool
import NudgeSystem

struct FactsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "facts",
        abstract: "Write one input's per-record facts as gzip CSV: the map step of a run spread over many machines.",
        discussion: """
            Reads INPUT as `run` reads it (gzip members or plain NDJSON, faults and their
            offsets, --max-line-bytes) and parses every line with run's parser, then
            writes one CSV row a record, in line order, to FILE (gzip, replaced whole
            once written): the line, what the rules that need no state say of it (rules
            1-3 and 5-11), and the fingerprints the rules that read the identity state
            use (rule 4's messageId, the user, the identity links' keys). A group-by over
            every input's rows decides as one `run` would: docs/design/spark-plan.md.
            The columns: docs/formats.md, "Facts".

            The summary says how reading ended. A corrupt or truncated input keeps the
            rows before its fault and exits 2, as `run` does; a zip, bzip2, xz or zstd
            file writes no FILE and exits 1. Nothing is written to any spool.

            Example:
              nudge-ingest facts --out facts/day1.csv.gz segment-logs/src/1741564800000/f.gz
            """)

    @Option(name: .long, help: ArgumentHelp("Where to write the facts (gzip CSV).", valueName: "FILE"))
    var out: String

    @OptionGroup var lineLimit: LineLimitOption

    @Option(name: .long, help: ArgumentHelp("Inflate gzip with auto, zlib or isal.", valueName: "BACKEND"))
    var inflate: InflateBackend = .auto

    @Flag(name: .long, help: "Print the summary as JSON on standard output.")
    var json = false

    @Argument(help: ArgumentHelp("One input file (a local path, or - for standard input).", valueName: "INPUT"))
    var input: String

    func validate() throws {
        guard !input.hasPrefix("s3://") else {
            throw ValidationError("facts reads local files and standard input; download the object first (reading s3:// here is not built yet).")
        }
        if input != "-" {
            let status: FileStatus
            do { status = try FileSystem.status(of: input) } catch {
                throw ValidationError("\(input): \(error == .noSuchFile ? "no such file" : "\(error)").")
            }
            if status.kind == .directory {
                throw ValidationError("\(input) is a directory: facts reads one input file (run's order over a folder's files is the plan step's).")
            }
        }
        do { _ = try inflate.resolved() } catch { throw ValidationError(error.message) }
    }

    func run() throws {
        let reader = InputReader(maxLineBytes: lineLimit.maxLineBytes, inflater: inflate)
        let summary: InputFacts.Summary
        do {
            summary = try InputFacts(reader: reader).write(InputFile(path: input), to: out)
        } catch {
            throw fail(error, progress: nil)
        }
        var report = "nudge-ingest facts: \(group(summary.records)) records from \(input)"
        report += summary.status == .refused ? ", no facts written" : " → \(out) (\(bytesText(summary.factsBytes)))"
        if let fault = summary.fault {
            report += "\n  \(summary.status.rawValue): \(fault.message) (at compressed byte \(fault.offset), line \(fault.line))"
        }
        try finish(report: report, json: json ? String(decoding: summary.json, as: UTF8.self) : nil,
                   exitStatus: summary.exitStatus, progress: nil)
    }
}
