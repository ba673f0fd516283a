import ArgumentParser
import NudgeIngest

struct RequeueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requeue",
        abstract: "Put records Nudge rejected back, so that the next replay sends them again.",
        discussion: """
            When the cause of a rejection is fixed (a field Nudge now accepts, a user it
            had blocked), `requeue` moves rejected records out of
            SPOOL/rejected/rejected.ndjson.gz; the next `replay` sends them again in spool
            order, each user's identify before its tracks. A user's records travel
            together: a matched record brings along its user's rejected identifies and
            the tracks held back because of them (identify_rejected), and that user's
            later tracks are no longer rejected without a request. Without a filter
            every rejected record goes back;
            each kind of filter given must match, repeated values are alternatives.

              nudge-ingest requeue --spool spool --status 422 --dry-run
              nudge-ingest requeue --spool spool --status 422
              NUDGE_API_KEY=… nudge-ingest replay --spool spool

            One crash-safe step: the rejected spool without those records is written
            aside and synced, the replay checkpoint that names it is the commit point,
            and the rename follows (finished by the next replay or requeue after a kill).
            It takes the replay lock, so it never runs beside a replay.

            Exit status: 0 done (also when nothing matched); 1 usage error, no spool, a
            spool in use or damaged, or a failed write (nothing changed).
            """
    )

    @Option(name: .long, help: ArgumentHelp("The spool whose rejected records to put back.", valueName: "DIR"))
    var spool: String = "spool"

    @Option(name: .long, help: ArgumentHelp("Only records whose last answer had this HTTP status (repeatable).", valueName: "CODE"))
    var status: [Int] = []

    @Option(name: .long, help: ArgumentHelp("Only records of this reason: rejected_by_nudge or identify_rejected (repeatable).",
                                            valueName: "R"))
    var reason: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only records of this ext_id (repeatable).", valueName: "EXT_ID"))
    var user: [String] = []

    @Flag(name: .long, help: "Count what would be put back, changing nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Print the summary as JSON on standard output.")
    var json = false

    func validate() throws {
        for value in reason where value != "rejected_by_nudge" && value != "identify_rejected" {
            throw ValidationError("--reason must be rejected_by_nudge or identify_rejected, not \(value).")
        }
        for value in status where !(100...599).contains(value) {
            throw ValidationError("--status must be an HTTP status between 100 and 599, not \(value).")
        }
    }

    func run() throws {
        var filter = RequeueFilter()
        filter.statuses = Set(status)
        filter.reasons = Set(reason)
        filter.users = Set(user)
        let summary: RequeueSummary
        do {
            summary = try Requeue.run(spool: spool, filter: filter, dryRun: dryRun)
        } catch {
            throw fail(error, progress: nil)
        }
        try finish(report: summary.report, json: json ? summary.json : nil, exitStatus: 0, progress: nil)
    }
}
