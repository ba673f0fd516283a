// Fuzz target `writer-round-trip`: what the JSON writer produces must parse back to the
// value it was given.
// - Any bytes, written as a JSON string, are strict JSON to the tool's scanner and read
//   back (by a reader of the fuzz support's own, and by Foundation) as the same text,
//   ill-formed UTF-8 replaced by U+FFFD.
// - A JSON object, written as Nudge `props`, is strict JSON, keeps its keys, carries no
//   date-time with a numeric offset, and is written again unchanged.

import Foundation
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWriterRoundTrip(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    checkStringRoundTrip(input)
    checkPropsRoundTrip(input)
    return 0
}

private func checkStringRoundTrip(_ input: [UInt8]) {
    var repaired = OutputBuffer(capacity: 16)
    repaired.append("{\"s\":")
    input.withUnsafeBytes { JSONOutput.appendStringRepairingUTF8($0, to: &repaired) }
    repaired.append("}")
    let written = repaired.bytes

    var scanned = ScannedEvent()
    let verdict = written.withUnsafeBytes { JSONScanner().scan($0, into: &scanned) }
    require(verdict == .object, "the written string is not strict JSON: \(verdict)")
    let text = String(decoding: input, as: UTF8.self)
    let back = WrittenJSONReader.object(written)?["s"] as? String
    require(back.map { $0.unicodeScalars.elementsEqual(text.unicodeScalars) } == true,
            "the string does not read back as its text")
    let foundationBack = foundationObject(written)?["s"] as? String
    require(foundationBack.map { foundationRead($0, as: text) } == true, "the string does not read back in Foundation")

    // Valid UTF-8 may take the path that skips validation: the bytes must not differ.
    if String(validating: input, as: UTF8.self) != nil {
        var direct = OutputBuffer(capacity: 16)
        direct.append("{\"s\":")
        input.withUnsafeBytes { JSONOutput.appendString($0, to: &direct) }
        direct.append("}")
        require(direct.bytes == written, "the valid-UTF-8 path wrote other bytes")
    }
}

private func checkPropsRoundTrip(_ input: [UInt8]) {
    guard let first = props(of: input) else { return }
    var scanned = ScannedEvent()
    let verdict = first.withUnsafeBytes { JSONScanner().scan($0, into: &scanned) }
    require(verdict == .object, "props written are not a strict JSON object: \(verdict)")
    require(props(of: first) == first, "props written again changed")

    // Beyond Foundation's reach (nesting past 512, numbers past Double, U+FEFF) there
    // is no second opinion.
    guard !input.containsBOM, let original = foundationObject(input), let written = foundationObject(first) else { return }
    require(Set(original.keys) == Set(written.keys), "props keys changed")
    var offsetDates = 0
    countNumericOffsetDates(in: written, into: &offsetDates)
    require(offsetDates == 0, "a date-time with a numeric offset was not rewritten")
}

/// `props` for the input when it is a JSON object (the scanner's verdict), else nil.
private func props(of object: [UInt8]) -> [UInt8]? {
    let wrapped = Array("{\"properties\":".utf8) + object + [0x7D]
    var scanned = ScannedEvent()
    return wrapped.withUnsafeBytes { line -> [UInt8]? in
        guard JSONScanner().scan(line, into: &scanned) == .object, scanned.properties.kind == .object else { return nil }
        var encoder = PropsEncoder()
        var out = OutputBuffer(capacity: 16)
        encoder.append(scanned.properties, in: line, to: &out)
        return out.bytes
    }
}

private func countNumericOffsetDates(in value: Any, into count: inout Int) {
    switch value {
    case let text as String:
        let parsed = Array(text.utf8).withUnsafeBytes { Timestamp.parse($0) }
        if parsed?.hadNumericOffset == true { count += 1 }
    case let array as [Any]:
        for element in array { countNumericOffsetDates(in: element, into: &count) }
    case let object as [String: Any]:
        for element in object.values { countNumericOffsetDates(in: element, into: &count) }
    default:
        break
    }
}
