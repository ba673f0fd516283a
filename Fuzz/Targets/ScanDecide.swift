// Fuzz target `scan-decide`: the input is a decompressed stream of lines. It is framed,
// scanned and decided as `run` does (one identity state across its lines, so identifies
// and tracks interact), then the spools it produced are checked record by record.

import Foundation
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// Low enough that the fuzzer reaches rule 1 with inputs of a few KiB.
private let maxLineBytes = 2048

/// The spools one pass over the input wrote.
private struct Spools {
    var accepted: [UInt8]
    var dropped: [UInt8]
    var counts: OutcomeCounts
    var decisions: [RecordDecision] = []

    init(_ input: [UInt8], chunk: Int) {
        // Tables that start tiny: cheap per input, and their growth gets exercised.
        var stage = RecordStage(maxLineBytes: maxLineBytes, state: IdentityState(initialCapacity: 8))
        var framer = LineFramer(maxLineBytes: maxLineBytes)
        let source = SourceFile(path: "fuzz.ndjson")
        var acceptedOut = OutputBuffer(capacity: 256)
        var droppedOut = OutputBuffer(capacity: 256)
        var decisions: [RecordDecision] = []
        forEachChunk(of: input, size: chunk) { piece in
            stage.decide(piece, framedBy: &framer, source: source, accepted: &acceptedOut, dropped: &droppedOut) {
                decisions.append($0)
            }
        }
        stage.finish(framedBy: &framer, source: source, accepted: &acceptedOut, dropped: &droppedOut) {
            decisions.append($0)
        }
        self.decisions = decisions
        accepted = acceptedOut.bytes
        dropped = droppedOut.bytes
        counts = stage.counts
    }
}

private let reasonCodes = Set(ReasonCode.allCases.map(\.rawValue)).subtracting(["corrupt_input"])
private let acceptedKeys: Set<String> = ["kind", "body", "message_id", "source", "resolved_via"]
private let droppedKeys: Set<String> = ["reason", "detail", "source", "type", "event", "message_id", "raw", "raw_truncated"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzScanDecide(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let whole = Spools(input, chunk: max(input.count, 1))
    let pieces = Spools(input, chunk: chunkSize(for: input, limit: 97))
    require(whole.accepted == pieces.accepted && whole.dropped == pieces.dropped, "the chunk size changed the spools")

    let lines = contractLines(input)
    require(whole.counts.records == lines.count, "\(whole.counts.records) records for \(lines.count) lines")
    require(whole.decisions == pieces.decisions, "the chunk size changed the decisions")
    require(whole.decisions.count == lines.count, "\(whole.decisions.count) decisions for \(lines.count) lines")
    for decision in whole.decisions { check(decision, in: whole) }

    // Every spool line is a JSON object to the tool's scanner, and reads back.
    var outcomes: [Int: [String: Any]] = [:]
    for (spool, keys) in [(whole.accepted, acceptedKeys), (whole.dropped, droppedKeys)] {
        var previousLine = 0
        for text in ndjsonLines(spool) {
            var scanned = ScannedEvent()
            let verdict = Array(text).withUnsafeBytes { JSONScanner().scan($0, into: &scanned) }
            require(verdict == .object, "a spool line is not a JSON object to the scanner: \(verdict)")
            guard let record = WrittenJSONReader.object(text) else {
                require(false, "a spool line does not read back: \(String(decoding: text, as: UTF8.self))")
                return 0
            }
            require(Set(record.keys) == keys, "spool record keys \(record.keys.sorted())")
            let number = ((record["source"] as? [String: Any])?["line"] as? NumberText).flatMap { Int($0.text) } ?? -1
            require(number > previousLine, "spool lines out of input order")
            previousLine = number
            require(outcomes.updateValue(record, forKey: number) == nil, "line \(number) is in both spools")
        }
    }
    require(outcomes.count == lines.count, "\(outcomes.count) spool records for \(lines.count) lines")

    for line in lines {
        guard let record = outcomes[line.number] else {
            require(false, "line \(line.number) is in neither spool")
            return 0
        }
        check(record, of: line.bytes)
    }
    return 0
}

/// A decision against the record it names: the outcome is the record's own, and its
/// body or detail lies where the decision says.
private func check(_ decision: RecordDecision, in spools: Spools) {
    let spool = decision.outcome.isAccepted ? spools.accepted : spools.dropped
    let range = decision.record, part = decision.bodyOrDetail
    guard range.lowerBound >= 0, range.upperBound <= spool.count, spool[range.upperBound - 1] == 0x0A,
          part.lowerBound > range.lowerBound, part.upperBound < range.upperBound,
          let record = WrittenJSONReader.object(spool[range.dropLast()])
    else {
        require(false, "decision \(decision) names no record")
        return
    }
    let line = ((record["source"] as? [String: Any])?["line"] as? NumberText).flatMap { Int($0.text) }
    require(line == decision.line, "decision for line \(decision.line), record of line \(line ?? -1)")
    switch decision.outcome {
    case .dropped(let reason):
        require(record["reason"] as? String == reason.rawValue, "decided \(reason), wrote \(record["reason"] ?? "nil")")
        let detail = WrittenJSONReader.object(Array("{\"d\":".utf8) + spool[part] + [0x7D])?["d"] as? String
        require(detail == record["detail"] as? String, "the decision's detail is not the record's")
    case .acceptedIdentify, .acceptedTrack:
        let isTrack = decision.outcome != .acceptedIdentify
        require(record["kind"] as? String == (isTrack ? "track" : "identify"), "decided \(decision.outcome)")
        if case .acceptedTrack(let origin) = decision.outcome {
            require((record["resolved_via"] as? String) == origin?.code, "resolved_via differs from the decision")
        }
        let body = WrittenJSONReader.object(spool[part])
        require(body.map { Set($0.keys) } == (record["body"] as? [String: Any]).map { Set($0.keys) },
                "the decision's body is not the record's")
    }
}

/// One record against its input line, with Foundation as the independent reading of it.
private func check(_ record: [String: Any], of line: [UInt8]) {
    let fitsLimit = line.count <= maxLineBytes
    let isUTF8 = String(validating: line, as: UTF8.self) != nil
    let parsed = fitsLimit && isUTF8 ? foundationObject(line) : nil

    guard let reason = record["reason"] as? String else {
        require(fitsLimit && isUTF8, "an accepted line is too long or not UTF-8")
        // Beyond Foundation: deep nesting, huge numbers, and U+FEFF, which it drops from
        // the start of keys and values.
        guard let event = parsed, !line.containsBOM else { return }
        let body = record["body"] as? [String: Any] ?? [:]
        let kind = record["kind"] as? String
        require(kind == event["type"] as? String, "accepted kind \(kind ?? "nil") for type \(event["type"] ?? "nil")")
        require(sameText(record["message_id"], event["messageId"]), "accepted message_id differs")
        if kind == "identify", let userId = event["userId"] as? String, userId.allSatisfy(\.isASCII) {
            let expected = userId.replacingOccurrences(of: " ", with: "_").lowercased()
            require(body["ext_id"] as? String == expected, "ext_id of \(userId)")
        }
        if kind == "track", let name = event["event"] as? String, name.allSatisfy(\.isASCII) {
            let expected = name.replacingOccurrences(of: " ", with: "_").lowercased()
            require(body["name"] as? String == expected, "name of \(name)")
        }
        return
    }

    require(reasonCodes.contains(reason), "unknown reason \(reason)")
    require((reason == "line_too_long") == !fitsLimit, "\(reason) for a line of \(line.count) bytes")
    if !isUTF8 { require(reason == "line_too_long" || reason == "malformed_json", "\(reason) for a line that is not UTF-8") }
    let detail = record["detail"] as? String ?? ""
    require(!detail.isEmpty && !detail.contains("\n"), "detail \(detail)")

    // `raw` gives the line back, repaired where it is not UTF-8, cut only when too long.
    let raw = record["raw"] as? String ?? ""
    let full = String(decoding: line, as: UTF8.self)
    if record["raw_truncated"] as? Bool == true {
        require(reason == "line_too_long", "raw cut for \(reason)")
        require(full.unicodeScalars.starts(with: raw.unicodeScalars), "cut raw is not a prefix of the line")
        require(raw.utf8.count <= RecordLimits.rawBytes, "cut raw of \(raw.utf8.count) bytes")
    } else {
        require(raw.unicodeScalars.elementsEqual(full.unicodeScalars), "raw does not reproduce the line")
    }

    // Fields read past rule 3 agree with Foundation's reading of the same line, unless
    // it holds a U+FEFF, which Foundation drops from the start of keys and values.
    if let event = parsed, !line.containsBOM, !["line_too_long", "malformed_json", "not_an_object"].contains(reason) {
        for (field, key) in [("type", "type"), ("message_id", "messageId"), ("event", "event")] {
            require(sameText(record[field], event[key]), "dropped \(field) \(record[field] ?? "nil") where Foundation "
                    + "reads \(event[key] ?? "nil") in \(String(decoding: line, as: UTF8.self))")
        }
    }
}

/// Both values are the same string, scalar by scalar, or neither is a string.
private func sameText(_ a: Any?, _ b: Any?) -> Bool {
    switch (a as? String, b as? String) {
    case (nil, nil): true
    case let (a?, b?): a.unicodeScalars.elementsEqual(b.unicodeScalars)
    default: false
    }
}
