import ArgumentParser
import NudgeIngest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Process Segment archive exports into the accepted and dropped spools.",
        discussion: """
            INPUTs are files, directories (read recursively, files in bytewise path order,
            so Segment's received-day folders read chronologically) or - for standard
            input. Gzip is detected by its magic bytes; every member of a multi-member file
            is read. Anything else is read as plain NDJSON.

            Every line is one record. Each record ends in exactly one spool, so
            records = accepted + dropped, for the run and for every input. Rules apply in
            this order; the first that matches names the drop reason:

            \(ReasonCode.ruleTable)

            A corrupt, truncated or unreadable input is a fault (corrupt_input), not a
            record: the lines before it are kept, the fault is written to the dropped
            spool with its byte offset, and the run goes on with the next input.

            Runs continue each other. The spool keeps the identity state (identified
            users, identity links) and every messageId seen, so a later run decides as one
            long run over all inputs would. Each input is one commit: its records, its
            state changes and its ledger entry become durable together, so a run killed
            at any instant loses nothing; run the same command again to continue. Inputs
            the ledger has committed (same path, size and content, or the same content
            under another path) are skipped; an input whose content changed since is
            refused, unless --reprocess-changed. One run at a time: a second run on a
            spool in use is refused.

            SPOOL layout (see schemas/ in the project for every field):
              accepted/NNNNNNNN.ndjson  records of commit N: {"kind","body","message_id",
                                        "source","resolved_via"}
              dropped/NNNNNNNN.ndjson   {"reason","detail","source","type","event",
                                         "message_id","raw","raw_truncated"}
              state/ledger.ndjson       one line per commit: its inputs, sizes, checksums
              state/snapshot, state/NNNNNNNN.journal, state/lock   identity state, lock
            The spool's folders are created 0700 and files 0600: they hold personal data.

            Exit status: 0 every input read whole, or nothing to do (drops are not
            failures); 1 usage or configuration error, a spool in use or damaged, a
            changed input, or a failed write (nothing half-committed: free the space and
            run again); 2 some input unreadable or corrupt.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Spool directory to write.", valueName: "DIR"))
    var spool: String = "spool"

    @OptionGroup var lineLimit: LineLimitOption

    @Flag(name: .long, help: "Print the run summary as JSON on standard output.")
    var json = false

    @Flag(name: .long, help: ArgumentHelp(
        "Process inputs whose content changed since the spool committed them, as new inputs.",
        discussion: "Records whose messageId was already seen are then dropped as duplicate_message_id."))
    var reprocessChanged = false

    @Argument(help: ArgumentHelp("Files, directories or - (standard input).", valueName: "INPUT"))
    var inputs: [String] = []

    func validate() throws {
        guard !inputs.isEmpty else {
            throw ValidationError("Name at least one INPUT: a file, a directory or - for standard input.")
        }
        guard inputs.filter({ $0 == "-" }).count <= 1 else {
            throw ValidationError("Standard input (-) can be named only once.")
        }
    }

    func run() throws {
        // Past a file-size limit, fail the write (EFBIG) and say so, instead of dying.
        signal(SIGXFSZ, SIG_IGN)
        let files = InputDiscovery.inputs(for: inputs)
        var options = RunOptions()
        options.spool = spool
        options.maxLineBytes = lineLimit.maxLineBytes
        options.reprocessChanged = reprocessChanged
        let progress = isatty(STDERR_FILENO) != 0 ? ProgressLine() : nil
        let summary: RunSummary
        do {
            summary = try IngestRun(options: options).run(files, progress: progress.map { line in { line.show($0) } })
        } catch {
            throw fail(error, progress: progress)
        }
        try finish(report: summary.report, json: json ? summary.json : nil, exitStatus: summary.exitStatus,
                   progress: progress)
    }
}

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

/// Ends a command that failed before its summary: the error on standard error, exit 1.
func fail(_ error: Error, progress: ProgressLine?) -> ExitCode {
    progress?.clear()
    FileStream.standardError.write("nudge-ingest: \(error)\n")
    return ExitCode(1)
}

/// Ends a command with its summary: the report on standard error, the JSON (when
/// asked for) on standard output, and the summary's exit status.
func finish(report: String, json: String?, exitStatus: Int32, progress: ProgressLine?) throws {
    progress?.clear()
    FileStream.standardError.write(report + "\n")
    if let json { FileStream.standardOutput.write(json + "\n") }
    if exitStatus != 0 { throw ExitCode(exitStatus) }
}

/// A progress line redrawn in place on a terminal.
final class ProgressLine: Sendable {
    func show(_ progress: RunProgress) {
        show(progress.line)
    }

    func show(_ line: String) {
        // Keep the end of a long path: the file name and the counts matter most.
        FileStream.standardError.write("\r\u{1B}[2K" + String(line.suffix(160)))
    }

    func clear() {
        FileStream.standardError.write("\r\u{1B}[2K")
    }
}

/// Unbuffered writes to a file descriptor.
struct FileStream {
    let descriptor: Int32
    static let standardError = FileStream(descriptor: STDERR_FILENO)
    static let standardOutput = FileStream(descriptor: STDOUT_FILENO)

    func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
