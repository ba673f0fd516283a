import ArgumentParser
import NudgeCore
import NudgeIngest
import NudgeRendering
import NudgeSystem

struct AuditReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The dropped records at a glance: by reason (count, share, an example), by type and event, by input file (records = accepted + dropped), by day.",
        discussion: """
            Days are the event's UTC day from its timestamp; an event without a valid
            timestamp is placed on its received-day folder (segment-logs/<source>/<day>/,
            the folder name being Unix milliseconds), and counted in `by_folder`.
            corrupt_input entries are input faults, not records: they are counted apart.

            Exit status: 0 the report was made; 1 the spool could not be read.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The spool to audit.", valueName: "DIR"))
    var spool: String = "spool"

    @Option(name: .long, help: ArgumentHelp("table (for people), json or csv (long form, one row per count).", valueName: "FORMAT"))
    var format: OutputFormat = .table

    @Option(name: .long, help: ArgumentHelp(
        "Also write the report as one self-contained HTML page (no script, nothing fetched): charts, what to do about each reason, its first raw lines, the accepted side by event, userId collisions.",
        valueName: "FILE"))
    var html: String?

    @Option(name: .long, help: ArgumentHelp("Type and event rows the table shows.", valueName: "N"))
    var top: Int = 20

    @Option(name: .long, help: ArgumentHelp(
        "Only the records of this input, or of inputs under this folder (repeat for several).",
        discussion: "As source.file gives them: a path as it was given to run, or s3://BUCKET/KEY and s3://BUCKET/PREFIX/ for inputs read from S3. The HTML page's accepted side and userId collisions stay the whole spool's.",
        valueName: "PATH"))
    var file: [String] = []

    /// A subcommand written after options meant for it (`audit --spool S list`): taken
    /// here only to say where the options go.
    @Argument(help: .hidden)
    var misplaced: [String] = []

    func validate() throws {
        guard let word = misplaced.first else { return }
        let rest = CommandLine.arguments.dropFirst(2).filter { $0 != word }.map(\.shellQuoted).joined(separator: " ")
        if ["list", "collisions", "report"].contains(word) {
            throw ValidationError("options go after the subcommand: nudge-ingest audit \(word) \(rest)")
        }
        throw ValidationError("unexpected argument '\(word)': audit's subcommands are report (the default), list "
                              + "and collisions, written before their options (nudge-ingest audit list --spool DIR)")
    }

    func run() throws {
        let report: AuditReport
        let progress = ProgressLine.onTerminal()
        do {
            report = try AuditReport.make(spool: spool, files: file, progress: progress?.scan("audit: reading the dropped spool"))
        } catch {
            throw fail(error, progress: progress)
        }
        progress?.clear()
        switch format {
        case .table: FileStream.standardOutput.write(report.table(top: top) + "\n")
        case .json: FileStream.standardOutput.write(report.json + "\n")
        case .csv: FileStream.standardOutput.write(report.csv + "\r\n")
        }
        if let html {
            do {
                // The page also shows the accepted side and the userId collisions.
                let accepted = try AcceptedEvents.make(spool: spool, progress: progress?.scan("audit --html: reading the accepted spool"))
                progress?.clear()
                let collisions = try UserIDCollisions.make(spool: spool)
                try report.writeHTML(to: html, collisions: collisions, accepted: accepted)
            } catch {
                throw fail(error, progress: progress)
            }
            FileStream.standardError.write("wrote \(html)\n")
        }
    }
}
