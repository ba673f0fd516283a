import ArgumentParser
import Dispatch
import NudgeCore
import NudgeIngest
import NudgeRendering
import NudgeSpool
import NudgeSystem
import Synchronization

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Process Segment archive exports into the accepted and dropped spools.",
        discussion: """
            INPUTs are files, directories (read recursively, files in bytewise path order,
            so Segment's received-day folders read chronologically), S3 locations or - for
            standard input. Gzip is detected by its magic bytes; every member of a
            multi-member file is read. Anything else is read as plain NDJSON.

            s3://BUCKET/PREFIX/ is listed and walked like a directory (keys in bytewise
            order); s3://BUCKET/KEY is one object. Objects are streamed and inflated as
            they arrive, --jobs at once; a dropped connection resumes where it stopped,
            503s and 500s are retried. Credentials, region and endpoint are found as the
            AWS CLI finds them: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
            AWS_SESSION_TOKEN, else ~/.aws/credentials and ~/.aws/config under
            AWS_PROFILE; AWS_REGION or AWS_DEFAULT_REGION; AWS_ENDPOINT_URL_S3 or
            --s3-endpoint for MinIO, R2 or moto. For SSO, assume-role or instance roles,
            first run:
              eval "$(aws configure export-credentials --format env)"
            The ledger knows objects by URL, size and ETag: a rerun downloads nothing,
            and an object rewritten since is a changed input. If S3 fails mid-run, the
            run stops before that object (exit 2); run the same command again to
            continue.

            In a directory walk, hidden files and folders (.DS_Store, .git) are skipped,
            and so are symbolic links unless --follow-symlinks, and folders that are
            spools (so `run .` with the spool inside the export reads only the export);
            --include and --exclude choose among the rest; the summary counts what was
            left out. Empty files (a download still under way) are skipped and not
            committed, and a file with the same bytes as an earlier input of the run (a
            copy) is read only once.

            Nothing to read is an error, found before anything is committed: a path that
            does not exist, a directory or s3:// prefix with no input file under it, a
            spool named as input, or a zip, bzip2, xz or zstd file (known by its first
            bytes: unzip or decompress it first). An input of which no line is a JSON
            object (a pretty-printed .json, a JSON array) is processed and warned about.

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
              accepted/NNNNNNNN.ndjson.gz  records of commit N: {"kind","body",
                                "message_id","source","resolved_via"}, one a line
              dropped/NNNNNNNN.ndjson.gz   {"reason","detail","source","type","event",
                                "message_id","raw","raw_truncated"}
              Both are gzip, in members of whole records (about 1 MiB of them), so
              `zcat accepted/*.ndjson.gz` gives the NDJSON, and DuckDB, Spark and Athena
              read the files as they are. (Spools written before compression hold
              plain NNNNNNNN.ndjson files; they are still read, and a run adds .gz ones.)
              state/ledger.ndjson       one line per commit: its inputs, sizes, checksums
              state/snapshot, state/NNNNNNNN.journal, state/lock   identity state, lock
            The spool's folders are created 0700 and files 0600: they hold personal data.

            Exit status: 0 every input read whole, or nothing to do (drops are not
            failures); 1 usage or configuration error, nothing to read, a refused
            format, a spool in use or damaged, a changed input, a failed S3 listing, or
            a failed write (nothing half-committed: free the space and run again); 2
            some input unreadable or corrupt, or S3 stopped the run; 130 interrupted
            (Ctrl-C: the inputs before the one being read stay committed).
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

    @Option(name: .long, help: ArgumentHelp(
        "In directory walks, read only files matching GLOB (repeat for several).",
        discussion: "A GLOB without / matches the file's name (--include '*.gz'); one with / matches the path below the directory named (--include '1743*/*.gz'). Files named on the command line are always read.",
        valueName: "GLOB"))
    var include: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "In directory walks, leave out files matching GLOB (repeat for several; as --include).", valueName: "GLOB"))
    var exclude: [String] = []

    @Flag(name: .long, help: ArgumentHelp(
        "In directory walks, read what symbolic links point to (each folder once: cycles are skipped)."))
    var followSymlinks = false

    @Option(name: .long, help: ArgumentHelp(
        // Optional, so that the parser adds no "(default: …)" of its own: the default once, in words and number.
        "Parse on N cores at once (default: the cores this process may use, here \(availableCores())).",
        discussion: "N inputs are read and inflated at once, and their records parsed by N workers; one thread decides them in input order, so the spools are byte for byte the same for every N. --jobs 1 for a quiet machine.",
        valueName: "N"))
    var jobs: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Inflate gzip with auto, zlib or isal.",
        discussion: "auto (the default) uses ISA-L's igzip, about twice as fast, when libisal.so.2 is installed (Debian: libisal2), and zlib otherwise (and for standard input). The spools are the same with either: where ISA-L finds a file's gzip stream broken, zlib reads that file again and reports the fault.",
        valueName: "BACKEND"))
    var inflate: InflateBackend = .auto

    @Option(name: .long, help: ArgumentHelp(
        "Memory for the message-id state (default: \(bytesText(MessageIDBudget.default().bytes)) on this machine).",
        discussion: "Every messageId is checked against all earlier ones, exactly. Recent ones are kept in memory; older ones in sorted runs in the spool's state/message-ids/, with one filter in memory (1.3–1.9 bytes an id) that spares most disk reads. A smaller budget makes more lookups read the disk, never another decision: the spools are byte for byte the same for every SIZE. SIZE is bytes, or a number with K, M or G (binary units: 512M, 2G); 0 keeps no message id in memory (every lookup reads the disk; for tests).",
        valueName: "SIZE"))
    var memory: ByteSize?

    @Option(name: .customLong("s3-endpoint"), help: ArgumentHelp(
        "Read s3:// inputs from this S3-compatible server (MinIO, R2, moto) instead of AWS.",
        discussion: "As AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, which it overrides. Objects are then addressed path-style (http://HOST/BUCKET/KEY).",
        valueName: "URL"))
    var s3Endpoint: String?

    @Argument(help: ArgumentHelp("Files, directories, s3://BUCKET/PREFIX or - (standard input).", valueName: "INPUT"))
    var inputs: [String] = []

    func validate() throws {
        guard !inputs.isEmpty else {
            throw ValidationError("Name at least one INPUT: a file, a directory or - for standard input.")
        }
        guard inputs.filter({ $0 == "-" }).count <= 1 else {
            throw ValidationError("Standard input (-) can be named only once.")
        }
        guard (1...1024).contains(jobs ?? 1) else {
            throw ValidationError("--jobs must be between 1 and 1024.")
        }

        if S3Inputs.named(in: inputs) && !builtWithHTTP {
            throw ValidationError("This nudge-ingest was built without its HTTP trait (--disable-default-traits), so it cannot read s3:// inputs; build it with the default traits.")
        }
        if let s3Endpoint, let problem = S3Inputs.problem(withEndpoint: s3Endpoint) {
            throw ValidationError(problem)
        }
        do {
            _ = try inflate.resolved()
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() throws {
        // Past a file-size limit, fail the write (EFBIG) and say so, instead of dying.
        CurrentProcess.ignore(.fileSizeLimit)
        let s3: S3Inputs?
        do { s3 = S3Inputs.named(in: inputs) ? try S3Inputs(endpoint: s3Endpoint) : nil } catch {
            throw fail(error, progress: nil)
        }
        defer { s3?.shutdown() }
        let progress = ProgressLine.onTerminal()
        if let progress, s3 != nil { progress.show("listing the S3 inputs…") }
        let discovery: Discovery
        do {
            discovery = try InputDiscovery.inputs(
                for: inputs, options: WalkOptions(includes: include, excludes: exclude, followSymlinks: followSymlinks),
                remote: s3?.source)
        } catch {
            throw fail(error, progress: progress)
        }
        var options = RunOptions()
        options.spool = spool
        options.maxLineBytes = lineLimit.maxLineBytes
        options.reprocessChanged = reprocessChanged
        options.jobs = jobs ?? availableCores()
        options.inflate = inflate
        options.memoryBudget = memory?.bytes
        if let memory, memory.bytes > 0, memory.bytes < 1 << 20 {
            FileStream.standardError.write("warning: --memory \(memory.bytes) is \(bytesText(memory.bytes)): most message-id "
                                           + "lookups will read the disk, and the run will be slow. Did you mean \(memory.bytes)M?\n")
        }
        let interruption = Interruption(progress: progress)
        var summary: RunSummary
        do {
            summary = try IngestRun(options: options, remote: s3?.source).run(
                discovery.inputs, progress: progress.map { line in { line.show($0) } },
                stopRequested: { interruption.isRequested })
        } catch {
            throw fail(error, progress: progress)
        }
        summary.discovery = discovery
        try finish(report: summary.report, json: json ? summary.json : nil, exitStatus: summary.exitStatus,
                   progress: progress)
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

extension InflateBackend: ExpressibleByArgument {}
