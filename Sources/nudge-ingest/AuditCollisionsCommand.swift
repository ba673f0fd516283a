import ArgumentParser
import NudgeCore
import NudgeIngest
import NudgeRendering
import NudgeSystem

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
