import ArgumentParser
import NudgeCore
import NudgeIngest
import NudgeSystem
#if HTTP
import NudgeServe
#endif

struct KeysListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "The keys: id, kind, name, created, revoked.")

    @OptionGroup var keys: KeysSpoolOption

    func run() throws {
        #if HTTP
        do {
            let store = try APIKeyStore(spool: keys.spool)
            if store.keys.isEmpty { FileStream.standardError.write("no keys yet: nudge-ingest keys create --spool \(keys.spool.shellQuoted) --live\n") }
            for key in store.keys {
                FileStream.standardOutput.write("\(key.id)  \(key.kind.rawValue)  created \(key.createdAt)"
                    + (key.revokedAt.map { "  REVOKED \($0)" } ?? "") + (key.name.isEmpty ? "" : "  \(key.name)") + "\n")
            }
        } catch {
            throw fail(error, progress: nil)
        }
        #endif
    }
}
