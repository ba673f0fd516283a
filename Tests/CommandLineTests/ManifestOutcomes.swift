import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// Checks a run against a generator's manifest (`file<TAB>line<TAB>outcome` for every
/// physical line, `skip` for blank ones, line `-` for a fault), whose file names are
/// the spool's after `marker` (or the spool's own, without one). Returns the outcomes seen.
@discardableResult
func expectManifestOutcomes(_ run: EndToEndTests.Run, manifest: URL, relativeTo marker: String? = nil) throws -> Set<String> {
    var actual: [String: String] = [:]
    for outcome in Outcome.all(accepted: run.accepted, dropped: run.dropped) {
        let file = marker.map { outcome.file.components(separatedBy: $0).last! } ?? outcome.file
        let isFault = outcome.code == "dropped:corrupt_input"
        let key = "\(file)\t\(isFault ? "-" : String(outcome.line))"
        #expect(actual[key] == nil, "two records for \(key)")
        actual[key] = isFault ? "corrupt_input" : outcome.code
    }
    var checked = 0
    var seen = Set<String>()
    for row in try String(contentsOf: manifest, encoding: .utf8).split(separator: "\n") {
        let fields = row.split(separator: "\t").map(String.init)
        let key = "\(fields[0])\t\(fields[1])"
        if fields[2] == "skip" {
            #expect(actual[key] == nil, "\(key) is blank and must not be a record")
            continue
        }
        #expect(actual[key] == fields[2], "\(key)")
        seen.insert(fields[2])
        checked += 1
    }
    #expect(checked == actual.count)
    return seen
}
