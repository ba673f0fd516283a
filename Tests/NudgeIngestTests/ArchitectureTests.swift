import Foundation
import Testing

/// The module rules of `docs/architecture.md`, read from the sources: SwiftPM lets a
/// target import any module its dependencies bring along, so a stray `import CZlib`
/// or `import Glibc` in the core would compile. These tests make it fail instead.
@Suite struct ArchitectureTests {
    /// The library's modules, bottom up: each may import only those before it.
    static let layers = ["NudgeCore", "NudgeSystem", "NudgeSpool", "NudgeIngest", "NudgeReplayHTTP", "nudge-ingest"]
    /// The C targets and the one module allowed to import each.
    static let cTargets = ["CBytes": "NudgeCore", "CZlib": "NudgeSystem", "CIsal": "NudgeSystem", "CLinux": "NudgeSystem"]
    /// What the core may import besides the modules above: nothing with I/O or threads.
    static let coreMay: Set<String> = ["CBytes"]

    /// The modules each source file of `module` imports.
    static func imports(of module: String) throws -> [(file: String, module: String)] {
        let folder = repositoryRoot.appendingPathComponent("Sources/\(module)")
        let files = try FileManager.default.subpathsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".swift") }
        #expect(!files.isEmpty, "\(module) has no sources")
        return try files.flatMap { file in
            try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                .split(separator: "\n")
                .compactMap { line -> (String, String)? in
                    let words = line.split(separator: " ")
                    guard words.count == 2, words[0] == "import" || words[0] == "@testable" else { return nil }
                    return ("\(module)/\(file)", String(words[1]))
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
