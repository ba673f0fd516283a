import ArgumentParser
import NudgeCore
import NudgeIngest
import NudgeRendering
import NudgeSystem

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
