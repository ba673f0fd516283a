import ArgumentParser
import NudgeCore
import NudgeIngest
import NudgeRendering
import NudgeSystem

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Report what was dropped and why: by reason, type and event, input file and day.",
        discussion: """
            Reads the committed dropped spool (SPOOL/dropped/, as far as the ledger has
            committed; a run may be writing meanwhile) and the ledger. `audit` alone is
            `audit report`.

            Examples:
              nudge-ingest audit --spool spool
              nudge-ingest audit --spool spool --html audit.html
              nudge-ingest audit list --spool spool --reason not_identified --limit 20
              nudge-ingest audit list --spool spool --user user_42 --format json
              nudge-ingest audit collisions --spool spool

            Then fix what can be fixed: `nudge-ingest preview` shows what a corrected
            event would become, and `nudge-ingest redrive` accepts the late tracks whose
            identify arrived in a later export.

            Exit status: 0 done; 1 usage error, or the spool could not be read.
            """,
        subcommands: [AuditReportCommand.self, AuditListCommand.self, AuditCollisionsCommand.self],
        defaultSubcommand: AuditReportCommand.self
    )
}
