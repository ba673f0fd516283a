import ArgumentParser
import NudgeCore
import NudgeIngest
import NudgeRendering
import NudgeSystem

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
