import Foundation
import NudgeTestSupport
import Testing

/// The module rules of `docs/architecture.md`, read from the sources: SwiftPM lets a
/// target import any module its dependencies bring along, so a stray `import CZlib`
/// or `import Glibc` in the core would compile. These tests make it fail instead.
@Suite struct ArchitectureTests {
    /// The library's modules, bottom up: each may import only those before it.
    static let layers = ["NudgeCore", "NudgeSystem", "NudgeS3", "NudgeSpool", "NudgeIngest", "NudgeRendering", "NudgeReplayHTTP", "NudgeS3HTTP", "NudgeServe", "nudge-ingest"]
    /// The C targets and the one module allowed to import each.
    static let cTargets = ["CBytes": "NudgeCore", "CZlib": "NudgeSystem", "CIsal": "NudgeSystem", "CLinux": "NudgeSystem"]
    /// What the core may import besides the modules above: nothing with I/O or threads.
    static let coreMay: Set<String> = ["CBytes"]
    /// What only NudgeSystem may import: the C library, and Foundation whole (it
    /// re-exports the C library). Elsewhere a scoped import of one declaration, such as
    /// `import class Foundation.JSONSerialization`, brings in that declaration alone.
    static let systemOnly: Set<String> = ["Glibc", "Foundation", "Musl"]
    /// Each folder of `Tests/` and the highest module its files may import: the test
    /// targets mirror the modules, so a core test that reached for the spool would fail.
    static let testTargets = [
        "NudgeTestSupport": "NudgeCore", "NudgeCoreTests": "NudgeCore", "NudgeSystemTests": "NudgeSystem",
        "NudgeS3Tests": "NudgeS3", "NudgeS3HTTPTests": "NudgeS3HTTP", "NudgeSpoolTests": "NudgeSpool", "NudgeIngestTests": "NudgeIngest",
        "NudgeRenderingTests": "NudgeRendering", "NudgeReplayHTTPTests": "NudgeReplayHTTP", "NudgeServeTests": "NudgeServe", "CommandLineTests": "nudge-ingest",
    ]

    /// The modules each source file of `module` imports; a scoped import
    /// (`import struct Foundation.Data`) is named by its declaration, `Foundation.Data`.
    static func imports(of module: String, in root: String = "Sources") throws -> [(file: String, module: String)] {
        let folder = repositoryRoot.appendingPathComponent("\(root)/\(module)")
        let files = try FileManager.default.subpathsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".swift") }
        #expect(!files.isEmpty, "\(module) has no sources")
        return try files.flatMap { file in
            try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                .split(separator: "\n")
                .compactMap { line -> (String, String)? in
                    var words = line.split(separator: " ").drop { $0.hasPrefix("@") }
                    guard words.first == "import" else { return nil }
                    words = words.dropFirst()
                    if words.count == 2 { words = words.dropFirst() }  // the kind of a scoped import
                    guard words.count == 1 else { return nil }
                    return ("\(module)/\(file)", String(words.first!))
                }
        }
    }

    @Test func eachModuleImportsOnlyTheModulesBelowIt() throws {
        for (index, module) in Self.layers.enumerated() {
            let below = Set(Self.layers[..<index])
            for (file, imported) in try Self.imports(of: module) where Self.layers.contains(imported) {
                #expect(below.contains(imported), "\(file) imports \(imported), which is not below \(module)")
            }
        }
    }

    @Test func eachTestTargetImportsOnlyItsModuleAndThoseBelow() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("Tests").path)
        #expect(Set(folders).subtracting(["Fixtures"]) == Set(Self.testTargets.keys), "a test folder without a rule")
        for (target, highest) in Self.testTargets {
            let visible = Set(Self.layers[...Self.layers.firstIndex(of: highest)!])
            for (file, imported) in try Self.imports(of: target, in: "Tests")
            where Self.layers.contains(imported) || Self.cTargets[imported] != nil {
                #expect(visible.contains(imported), "\(file) imports \(imported), which is above \(highest)")
            }
        }
    }

    @Test func eachCTargetIsImportedByItsOneModule() throws {
        for module in Self.layers {
            for (file, imported) in try Self.imports(of: module) {
                guard let owner = Self.cTargets[imported] else { continue }
                #expect(owner == module, "\(file) imports \(imported); only \(owner) may")
            }
        }
    }

    @Test func theCoreImportsNoIOAndNoThreads() throws {
        for (file, imported) in try Self.imports(of: "NudgeCore") {
            #expect(Self.coreMay.contains(imported), "\(file) imports \(imported)")
        }
        // Swift's concurrency needs no import, so its words are looked for too: CI runs
        // no ThreadSanitizer over the core's tests because the core has no threads.
        let folder = repositoryRoot.appendingPathComponent("Sources/NudgeCore")
        let concurrency = try Regex(#"\b(async|await|actor|Task|nonisolated|pthread)\b"#)
        for file in try FileManager.default.subpathsOfDirectory(atPath: folder.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            #expect(text.firstMatch(of: concurrency) == nil, "NudgeCore/\(file) uses Swift concurrency or threads")
        }
    }

    @Test func onlyTheSystemModuleImportsTheCLibrary() throws {
        for module in Self.layers where module != "NudgeSystem" {
            for (file, imported) in try Self.imports(of: module) {
                #expect(!Self.systemOnly.contains(imported), "\(file) imports \(imported); only NudgeSystem may")
                // The JSON the tool writes, it reads with its own reader (`JSONValue`).
                #expect(imported != "Foundation.JSONSerialization", "\(file) reads JSON with Foundation's parser")
            }
        }
        #expect(try Self.imports(of: "NudgeSystem").contains { $0.module == "Glibc" })
    }

    @Test func noDarwinBranchesRemain() throws {
        for module in Self.layers {
            let folder = repositoryRoot.appendingPathComponent("Sources/\(module)")
            for file in try FileManager.default.subpathsOfDirectory(atPath: folder.path) where file.hasSuffix(".swift") {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                #expect(!text.contains("import Darwin") && !text.contains("canImport(Darwin)"), "\(module)/\(file)")
            }
        }
    }
}
