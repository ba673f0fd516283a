import ArgumentParser
import NudgeCore
import NudgeIngest
import NudgeSystem
#if HTTP
import NudgeServe
#endif

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke the API keys `serve` accepts.",
        discussion: """
            Keys are stored in SPOOL/serve/keys.ndjson (0600) as the SHA-256 of their
            secret, never the secret: `keys create` prints it once. sk_live_ keys read
            everything serve offers; sk_test_ keys may only POST /v1/preview.
            """,
        subcommands: [KeysCreateCommand.self, KeysListCommand.self, KeysRevokeCommand.self]
    )
}

/// What every `keys` subcommand takes: the spool, and a build that has `serve`.
struct KeysSpoolOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The spool whose keys these are.", valueName: "DIR"))
    var spool: String = "spool"

    func validate() throws {
        guard builtWithHTTP else {
            throw ValidationError("This nudge-ingest was built without its HTTP trait, so it has no serve and no keys.")
        }
    }
}
