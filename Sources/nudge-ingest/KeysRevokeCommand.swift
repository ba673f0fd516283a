import ArgumentParser
import NudgeCore
import NudgeIngest
import NudgeSystem
#if HTTP
import NudgeServe
#endif

struct KeysRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a key: it opens nothing from then on.")

    @OptionGroup var keys: KeysSpoolOption

    @Argument(help: ArgumentHelp("The key's id (keys list).", valueName: "ID"))
    var id: String

    func run() throws {
        #if HTTP
        do {
            var store = try APIKeyStore(spool: keys.spool)
            let key = try store.revoke(id)
            FileStream.standardError.write("nudge-ingest keys: revoked \(key.id)\n")
        } catch {
            throw fail(error, progress: nil)
        }
        #endif
    }
}
