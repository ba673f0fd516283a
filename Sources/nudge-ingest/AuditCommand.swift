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

/// `--format`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

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

/// The criteria of `audit list` and `redrive`.
struct FilterOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Only this reason code (repeat for several).", valueName: "CODE"))
    var reason: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only records of this type (repeat for several).", valueName: "TYPE"))
    var type: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only records with this event name (repeat for several).", valueName: "NAME"))
    var event: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "Only events of this user: their userId, anonymousId or ext_id (repeat for several).", valueName: "ID"))
    var user: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "Only records from this input file, or from files under this folder (as source.file gives them).",
        valueName: "PATH"))
    var file: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "Only events at or after this time: YYYY-MM-DD or an RFC 3339 date-time (UTC when it has no offset).",
        valueName: "TIME"))
    var from: String?

    @Option(name: .long, help: ArgumentHelp(
        "Only events before this time; a date alone includes that whole day.", valueName: "TIME"))
    var to: String?

    func validate() throws {
        _ = try filter()
    }

    /// These criteria as options, each value shell-quoted: for a command the tool suggests.
    var arguments: [String] {
        [("--reason", reason), ("--type", type), ("--event", event), ("--user", user), ("--file", file),
         ("--from", from.map { [$0] } ?? []), ("--to", to.map { [$0] } ?? [])]
            .flatMap { option, values in values.flatMap { [option, $0.shellQuoted] } }
    }

    func filter() throws -> AuditFilter {
        var filter = AuditFilter()
        for code in reason {
            guard let parsed = ReasonCode(rawValue: code) else {
                throw ValidationError("--reason \(code) is not a reason code; the codes are "
                                      + ReasonCode.allCases.map(\.rawValue).joined(separator: ", ") + ".")
            }
            filter.reasons.append(parsed)
        }
        (filter.types, filter.events, filter.users, filter.files) = (type, event, user, file)
        if let from {
            guard let time = AuditFilter.parseTime(from, isEnd: false) else {
                throw ValidationError("--from \(from) is not YYYY-MM-DD or an RFC 3339 date-time.")
            }
            filter.from = time
        }
        if let to {
            guard let time = AuditFilter.parseTime(to, isEnd: true) else {
                throw ValidationError("--to \(to) is not YYYY-MM-DD or an RFC 3339 date-time.")
            }
            filter.to = time
        }
        return filter
    }
}

struct AuditListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the dropped records a filter selects, a page at a time, or all of them (--all).",
        discussion: """
            Criteria of different kinds must all match; repeated values of one kind are
            alternatives (--reason anonymous_only --reason not_identified). Records come
            in spool order. A page holds --limit records; the next one starts at the
            cursor the page ends with (--format json: "next_cursor", with "has_more"),
            given back with the same filters. A page cut by its limit says on standard
            error how many more match and how to get them. --all lists every match
            instead, in any format, holding one record at a time.

            Examples:
              nudge-ingest audit list --spool spool --reason not_identified \\
                --format json
              nudge-ingest audit list --spool spool --reason not_identified \\
                --format json --cursor c1.…
              nudge-ingest audit list --spool spool --format csv --all > drops.csv

            A cursor stays valid while runs and redrives change the spool; records a
            redrive moved out are no longer listed.

            Exit status: 0 listed (even nothing); 1 usage error, bad cursor or unreadable spool.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The spool to read.", valueName: "DIR"))
    var spool: String = "spool"

    @OptionGroup var filters: FilterOptions

    @Option(name: .long, help: ArgumentHelp(
        "Records per page (1–\(AuditPage.maximumLimit); default \(AuditPage.defaultLimit)).", valueName: "N"))
    var limit: Int?

    @Option(name: .long, help: ArgumentHelp("Start where an earlier page ended (its next_cursor).", valueName: "CURSOR"))
    var cursor: String?

    @Flag(name: .long, help: ArgumentHelp(
        "Every matching record (from --cursor, if given), in one listing, however many.",
        discussion: "--format json gives one page holding them all (\"next_cursor\": null)."))
    var all = false

    @Option(name: .long, help: ArgumentHelp(
        "table (one line per record), json ({\"data\", \"next_cursor\", \"has_more\"}) or csv.", valueName: "FORMAT"))
    var format: OutputFormat = .table

    func validate() throws {
        if all && limit != nil {
            throw ValidationError("--all lists every match: leave out --limit (or leave out --all for a page).")
        }
        if let limit, !(1...AuditPage.maximumLimit).contains(limit) {
            throw ValidationError("--limit must be between 1 and \(AuditPage.maximumLimit) (--all lists every match).")
        }
    }

    func run() throws {
        let progress = ProgressLine.onTerminal()
        do {
            if all {
                try listAll(progress: progress)
            } else {
                try listPage(progress: progress)
            }
        } catch {
            throw fail(error, progress: progress)
        }
    }

    private func listPage(progress: ProgressLine?) throws {
        let page = try AuditPage.make(spool: spool, filter: try filters.filter(), limit: limit ?? AuditPage.defaultLimit,
                                      cursor: cursor, countingMore: true,
                                      progress: progress?.scan("audit list: reading the dropped spool"))
        progress?.clear()
        switch format {
        case .json: FileStream.standardOutput.write(page.json + "\n")
        case .csv: FileStream.standardOutput.write(page.csv + "\r\n")
        case .table: if !page.records.isEmpty { FileStream.standardOutput.write(page.table + "\n") }
        }
        let count = "\(group(page.records.count)) record\(page.records.count == 1 ? "" : "s")"
        if let next = page.nextCursor {
            // Said in every format: a CSV or JSON page redirected to a file says nothing
            // on the terminal otherwise, and reads as the whole list.
            let more = page.moreMatching ?? 0
            let howMany = page.moreMatchingIsAtLeast ? "\(group(more)) or more match" : "\(group(more)) more match\(more == 1 ? "es" : "")"
            FileStream.standardError.write(
                "\(count); \(howMany): the next page with --cursor \(next), "
                + "or every one with: \(command(["--all"]))\n")
        } else if format == .table {
            FileStream.standardError.write("\(count); no more\n")
        }
    }

    /// `--all`: each record written as it is read, through a buffer of about 64 KiB.
    private func listAll(progress: ProgressLine?) throws {
        var out = StandardOutputBuffer()
        var json = JSONWriter()
        switch format {
        case .json: AuditPage.beginPage(&json)
        case .csv: out.append(AuditPage.csvHeader + "\r\n")
        case .table: break
        }
        let count = try AuditPage.forEach(spool: spool, filter: try filters.filter(), cursor: cursor,
                                          progress: progress?.scan("audit list: reading the dropped spool")) { record in
            switch format {
            case .json:
                json.json(nil, record)
                json.drain { out.append($0) }
            case .csv: if let row = AuditPage.csvRow(record) { out.append(row + "\r\n") }
            case .table: out.append(AuditPage.tableRow(record) + "\n")
            }
            if out.isFull {
                progress?.clear()
                out.flush()
            }
            // A closed pipe (`| head`) ends the listing: no one reads the rest.
            return !out.failed
        }
        if format == .json {
            AuditPage.endPage(&json, nextCursor: nil)
            json.drain { out.append($0) }
            out.append("\n")
        }
        progress?.clear()
        out.flush()
        if format == .table { FileStream.standardError.write("\(group(count)) record\(count == 1 ? "" : "s")\n") }
    }

    /// This listing's command with `extra` options, the page options left out, paths quoted.
    private func command(_ extra: [String]) -> String {
        (["nudge-ingest", "audit", "list", "--spool", spool.shellQuoted] + filters.arguments
         + (format == .table ? [] : ["--format", format.rawValue]) + extra).joined(separator: " ")
    }
}

struct AuditCollisionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collisions",
        abstract: "List raw userIds that Nudge's sanitising merges into one ext_id, with their record counts.",
        discussion: """
            Nudge keys users by ext_id: the userId with every space replaced by _ and
            then lowercased, so "User 42", "user 42" and "user_42" are one user. When
            they were different people, their histories are silently merged. This lists
            every ext_id reached from more than one raw userId, and how many records
            carried each (identifies, tracks with an event name, and aliases that link),
            from the spool's identity state.

            Exit status: 0 listed (even none); 1 the spool could not be read.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The spool to read.", valueName: "DIR"))
    var spool: String = "spool"

    @Option(name: .long, help: ArgumentHelp("table, json or csv.", valueName: "FORMAT"))
    var format: OutputFormat = .table

    func run() throws {
        let collisions: UserIDCollisions
        do { collisions = try UserIDCollisions.make(spool: spool) } catch { throw fail(error, progress: nil) }
        switch format {
        case .table: FileStream.standardOutput.write(collisions.table + "\n")
        case .json: FileStream.standardOutput.write(collisions.json + "\n")
        case .csv: FileStream.standardOutput.write(collisions.csv + "\r\n")
        }
    }
}

/// Standard output written in pieces of about ``flushAt`` bytes: a listing of any length
/// in bounded memory, without a system call per line.
struct StandardOutputBuffer: ~Copyable {
    static let flushAt = 64 << 10
    private var buffer = OutputBuffer(capacity: Self.flushAt + 4096)
    /// A write failed (a closed pipe): the rest is dropped, and the caller may stop.
    private(set) var failed = false

    var isFull: Bool { buffer.count >= Self.flushAt }

    mutating func append(_ bytes: UnsafeRawBufferPointer) { buffer.append(bytes) }
    mutating func append(_ text: String) { buffer.append(utf8: text) }

    mutating func flush() {
        if !failed && !buffer.isEmpty {
            do throws(SystemError) {
                try buffer.withBytes { (bytes) throws(SystemError) in try FileDescriptor.standardOutput.writeAll(bytes) }
            } catch {
                failed = true
            }
        }
        buffer.removeAll()
    }
}
