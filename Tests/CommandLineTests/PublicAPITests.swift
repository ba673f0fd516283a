import Foundation
import NudgeTestSupport
import Testing

/// The library's public surface is chosen, not accumulated: every `public` declaration in
/// `Sources/` is listed in `docs/architecture.md` ("The public API"), each carries a DocC
/// summary, and the list stays small. A declaration made public by habit fails here; so
/// does one the document still lists after it went away.
@Suite struct PublicAPITests {
    /// One `public` declaration: the module it is in and its first line, as written.
    struct Declaration: Hashable, CustomStringConvertible {
        var module: String
        var head: String
        var description: String { "\(module): \(head)" }
    }

    /// The most public declarations the library may have (async-http-client, the model,
    /// has about 320 public lines).
    static let budget = 200

    /// Every `public` declaration in `Sources/`, with whether the lines above it hold a
    /// `///` summary (attributes may sit between).
    static func declarations() throws -> [(declaration: Declaration, documented: Bool, file: String)] {
        let sources = repositoryRoot.appendingPathComponent("Sources")
        let modifier = try Regex(#"^(@[\w.]+(\([^)]*\))?\s+)*((private|fileprivate|internal|package|nonisolated|final|static|class|override|mutating|consuming|borrowing|indirect|convenience|required|open|dynamic|lazy)\s+)*public\b"#)
        var found: [(Declaration, Bool, String)] = []
        for file in try FileManager.default.subpathsOfDirectory(atPath: sources.path) where file.hasSuffix(".swift") {
            let module = String(file.split(separator: "/")[0])
            let lines = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false)
            for (index, raw) in lines.enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                guard line.firstMatch(of: modifier) != nil else { continue }
                var head = line
                if let brace = head.firstIndex(of: "{") { head = String(head[..<brace]) }
                head = head.trimmingCharacters(in: .whitespaces)
                var above = index - 1
                while above >= 0, lines[above].trimmingCharacters(in: .whitespaces).hasPrefix("@") { above -= 1 }
                let documented = above >= 0 && lines[above].trimmingCharacters(in: .whitespaces).hasPrefix("///")
                found.append((Declaration(module: module, head: head), documented, "\(file):\(index + 1)"))
            }
        }
        return found
    }

    /// The list between the markers in `docs/architecture.md`: lines `Module: declaration`.
    static func documented() throws -> [Declaration] {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        guard let start = text.range(of: "<!-- public-api:begin -->"), let end = text.range(of: "<!-- public-api:end -->") else {
            Issue.record("docs/architecture.md has no public-api markers")
            return []
        }
        return text[start.upperBound..<end.lowerBound].split(separator: "\n").compactMap { line in
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix("```") else { return nil }
            return Declaration(module: String(line[..<colon]), head: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }

    @Test func everyPublicDeclarationIsListedInTheArchitectureDocument() throws {
        let inSources = try Self.declarations()
        let listed = try Self.documented()
        let sourceSet = Set(inSources.map(\.declaration))
        let listedSet = Set(listed)
        for (declaration, _, file) in inSources where !listedSet.contains(declaration) {
            Issue.record("\(file): `\(declaration.head)` is public but not in docs/architecture.md's public API; make it package, or list it as `\(declaration)`")
        }
        for declaration in listed where !sourceSet.contains(declaration) {
            Issue.record("docs/architecture.md lists `\(declaration)`, which is not a public declaration in Sources/")
        }
        #expect(inSources.count <= Self.budget, "\(inSources.count) public declarations; the budget is \(Self.budget)")
        #expect(!inSources.isEmpty, "the library exports nothing: the extraction is broken")
    }

    @Test func everyPublicDeclarationHasADocCSummary() throws {
        for (declaration, documented, file) in try Self.declarations() where !documented {
            Issue.record("\(file): `\(declaration.head)` is public without a `///` summary")
        }
    }

    @Test func modulesNoProductExportsHaveNoPublicDeclarations() throws {
        let exported: Set<String> = ["NudgeIngest", "NudgeSpool", "NudgeSystem", "NudgeCore"]
        for (declaration, _, file) in try Self.declarations() where !exported.contains(declaration.module) {
            Issue.record("\(file): \(declaration.module) is not in a library product, so `\(declaration.head)` should be package")
        }
    }
}
