import ArgumentParser
import NudgeCore
import NudgeIngest
import NudgeSystem
#if HTTP
import NudgeServe
#endif

struct KeysCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Make a key and print its secret, once.",
        // The parser lists an EnumerableFlag's cases as if each were required; they are
        // one choice.
        usage: "nudge-ingest keys create (--live | --test) [--name <NAME>] [--spool <DIR>]")

    @OptionGroup var keys: KeysSpoolOption

    @Flag(help: "One of: --live (sk_live_: reads everything) or --test (sk_test_: may only preview).")
    var kind: Kind

    @Option(name: .long, help: ArgumentHelp("Who it is for, shown by keys list.", valueName: "NAME"))
    var name: String = ""

    enum Kind: String, EnumerableFlag { case live, test }

    func run() throws {
        #if HTTP
        do {
            var store = try APIKeyStore(spool: keys.spool)
            let (key, secret) = try store.create(kind: kind == .live ? .live : .test, name: name)
            FileStream.standardOutput.write(secret + "\n")
            FileStream.standardError.write("nudge-ingest keys: created \(key.id) (\(key.kind.rawValue)\(name.isEmpty ? "" : ", \(name)")); "
                                           + "the secret above is shown this once\n")
        } catch {
            throw fail(error, progress: nil)
        }
        #endif
    }
}
