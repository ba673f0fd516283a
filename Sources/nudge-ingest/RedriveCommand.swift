import ArgumentParser
import NudgeIngest
import NudgeSystem

struct RedriveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redrive",
        abstract: "Decide dropped tracks again against the current identity state; move the ones now accepted to the accepted spool.",
        discussion: """
            Segment files events by the day it received them, so a track can come in an
            earlier export than its user's identify and be dropped as not_identified (or
            anonymous_only, before its anonymousId was linked). Once later runs have
            brought the identify, `redrive` decides those tracks again: the ones now
            accepted move to the accepted spool, exactly as `run` would have written
            them; the rest keep their reason. Only not_identified and anonymous_only
            tracks whose whole line was kept are decided again: no other reason can
            change. The filters (as in `audit list`) narrow the selection further.

              nudge-ingest run --spool spool segment-logs/
              nudge-ingest redrive --spool spool --dry-run
              nudge-ingest redrive --spool spool
              nudge-ingest replay --spool spool

            A redrive is one commit: its records go to a new accepted/NNNNNNNN.ndjson.gz,
            the dropped files that lose records are rewritten without them, and its
            ledger line says which. Every record is in exactly one spool before and after; a
            redrive killed at any instant leaves the spool as before, or finished by the
            next command that opens it. Running it again moves nothing new. `replay`
            then delivers what it moved. It takes the spool's lock, as `run` does.

            Exit status: 0 done (also when nothing moved); 1 usage error, a spool in use
            or damaged, or a failed write (nothing of it committed).
            """
    )

    @Option(name: .long, help: ArgumentHelp("The spool to redrive.", valueName: "DIR"))
    var spool: String = "spool"

    @OptionGroup var filters: FilterOptions

    @Flag(name: .long, help: "Count what would move, changing nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Print the summary as JSON on standard output.")
    var json = false

    func run() throws {
        CurrentProcess.ignore(.fileSizeLimit)
        let summary: RedriveSummary
        let progress = ProgressLine.onTerminal()
        do {
            summary = try Redrive.run(spool: spool, filter: try filters.filter(), dryRun: dryRun,
                                      progress: progress?.scan("redrive: deciding the dropped tracks again"))
        } catch {
            throw fail(error, progress: progress)
        }
        try finish(report: summary.report, json: json ? summary.json : nil, exitStatus: 0, progress: progress)
    }
}
