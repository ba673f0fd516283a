// Fuzz target `spool-record`: what `audit`, `redrive` and `replay` read back from spool
// files is never trusted, so any bytes must be read or refused, never crash, and what
// is read must agree with other readers.
// - As a JSON string's contents: the unvalidated decoder (`JSONString.decodeChecked`)
//   gives the bytes the validating scanner plus the trusted decoder give, whenever the
//   scanner accepts the string; it refuses no string the scanner accepts.
// - As a dropped-spool line: a record read has the reason, source and strings that
//   Foundation reads from the same line when Foundation reads it as a JSON object.

import Foundation
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpoolRecordReader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    checkStringDecoders(input)
    checkDroppedRecord(input)
    return 0
}

private func checkStringDecoders(_ content: [UInt8]) {
    let quoted = [0x22] + content + [0x22]
    var scanned = ScannedEvent()
    let verdict = quoted.withUnsafeBytes { JSONScanner().scan($0, into: &scanned) }
    let checked = content.withUnsafeBytes { JSONString.decodeChecked($0) }
    guard case .notAnObject(.string) = verdict else { return }
    let trusted = content.withUnsafeBytes { JSONString.decode($0) }
    require(checked == trusted, "decodeChecked gives \(checked.map { $0.count } ?? -1) bytes, decode \(trusted.count)")
    // Through the member walker too: the string's end is found, and it decodes the same.
    let member = Array("{\"k\":".utf8) + quoted + [0x7D]
    var value: [UInt8]?
    let walked: Void? = try? member.withUnsafeBytes { bytes in
        try JSONMembers.forEach(in: bytes, object: 0..<bytes.count) { _, range in
            value = JSONMembers.decodedString(bytes, range)
        }
    }
    require(walked != nil && value == trusted, "the member walker does not read the string back")
}

private func checkDroppedRecord(_ line: [UInt8]) {
    let parsed = line.withUnsafeBytes { bytes -> (DroppedRecord, String?, String?, String?)? in
        guard let record = try? DroppedRecord.parse(bytes) else { return nil }
        return (record, DroppedRecord.string(record.file, in: bytes), DroppedRecord.string(record.raw, in: bytes),
                DroppedRecord.string(record.event, in: bytes))
    }
    guard let (record, file, raw, event) = parsed,
          let object = foundationObject(line),
          let source = object["source"] as? [String: Any]
    else { return }
    // Foundation keeps the last of repeated keys, as the walker does.
    require(object["reason"] as? String == record.reason.rawValue, "reason differs from Foundation's")
    if let foundationLine = source["line"] as? Int, let file, let foundationFile = source["file"] as? String {
        require(foundationLine == record.line, "source.line differs from Foundation's")
        require(foundationRead(foundationFile, as: file), "source.file differs from Foundation's")
    }
    if let raw, let foundationRaw = object["raw"] as? String {
        require(foundationRead(foundationRaw, as: raw), "raw differs from Foundation's")
    }
    if let event, let foundationEvent = object["event"] as? String {
        require(foundationRead(foundationEvent, as: event), "event differs from Foundation's")
    }
}
