import ArgumentParser
import NudgeIngest
import NudgeSystem

@main
struct NudgeIngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nudge-ingest",
        abstract: "Move Segment archive exports into Nudge: process them, and audit what was dropped.",
        discussion: """
            Segment's S3 destination writes gzipped NDJSON, one event a line, under
            segment-logs/<source-id>/<received-day>/<file>.gz. `nudge-ingest run` reads
            those files, checks every event against what Nudge accepts (identify needs a
            userId; a track needs an identified user, an event name and an RFC 3339
            timestamp), resolves anonymous tracks through identity links, and writes
            each record to exactly one of two spools:

              SPOOL/accepted/NNNNNNNN.ndjson.gz   the exact bodies Nudge's API takes
              SPOOL/dropped/NNNNNNNN.ndjson.gz    what was dropped, why, and the original line

            (gzip: `zcat`, DuckDB, Spark and Athena read them as they are.)

            `nudge-ingest replay` then delivers the accepted spool to Nudge's API, in
            order, resuming where it stopped (`requeue` puts records Nudge rejected back
            once their cause is fixed). `audit` reports what was dropped and why
            (by reason, event, file and day; `audit list` pages through the records),
            `preview` shows what an event would become, and `redrive` accepts the tracks
            whose user's identify arrived in a later export.

            Start with:
              nudge-ingest run --spool spool segment-logs/
              nudge-ingest audit --spool spool
              NUDGE_API_KEY=… nudge-ingest replay --spool spool
            """,
        version: NudgeIngestVersion.current,
        subcommands: [RunCommand.self, ReplayCommand.self, RequeueCommand.self, AuditCommand.self, PreviewCommand.self,
                      RedriveCommand.self, ServeCommand.self, KeysCommand.self, FactsCommand.self]
    )

    /// Parses and runs, mapping usage errors to exit status 1 as the contract says
    /// (ArgumentParser's default is 64, `EX_USAGE`).
    static func main() async {
        CurrentProcess.returnLargeFreedBlocksToTheSystem()
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileStream.standardError.write(fullMessage(for: error) + "\n")
                exit(withError: ExitCode(1))
            }
            exit(withError: error)
        }
    }
}
