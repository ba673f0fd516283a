// Shared by every fuzz target: property checks that stop the fuzzer with a finding,
// and small independent re-implementations the targets compare against.
//
// Compiled into each target binary by `scripts/fuzz.py`, never into the package.

import Foundation
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// Stops the fuzzer: libFuzzer treats the abort as a crash and saves the input.
func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    guard !condition() else { return }
    FileHandle.standardError.write(Data("property violated at \(file):\(line): \(message())\n".utf8))
    abort()
}

/// The fuzzer's input, copied out of libFuzzer's buffer.
func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// A number in `1...limit` derived from the input (FNV-1a), so each input is split into
/// chunks of its own size and a finding still reproduces from the saved input alone.
func chunkSize(for input: [UInt8], limit: Int, salt: UInt64 = 0) -> Int {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ salt
    for byte in input.prefix(64) {
        hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
    return 1 + Int(hash % UInt64(limit))
}

/// Calls `body` with consecutive slices of `bytes` of `size` bytes (the last may be shorter).
func forEachChunk(of bytes: [UInt8], size: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
    try bytes.withUnsafeBytes { all in
        var start = 0
        while start < all.count {
            let end = min(start + size, all.count)
            try body(UnsafeRawBufferPointer(rebasing: all[start..<end]))
            start = end
        }
    }
}

/// The contract's records of a decompressed stream, framed the simplest possible way:
/// split on `\n`, a last line without one counts, one `\r` removed, a byte-order mark
/// at the very start ignored, lines of only spaces and tabs skipped (numbers kept).
func contractLines(_ stream: [UInt8]) -> [(number: Int, bytes: [UInt8])] {
    var body = stream[...]
    if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
    var pieces = body.split(separator: 0x0A, omittingEmptySubsequences: false)
    if pieces.last?.isEmpty == true { pieces.removeLast() }
    var lines: [(number: Int, bytes: [UInt8])] = []
    for (index, piece) in pieces.enumerated() {
        var line = Array(piece)
        if line.last == 0x0D { line.removeLast() }
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
        lines.append((index + 1, line))
    }
    return lines
}

/// One spool line parsed by Foundation, a parser independent of the tool's own.
func foundationObject<Bytes: Collection<UInt8>>(_ json: Bytes) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(json), options: [.fragmentsAllowed])) as? [String: Any]
}

/// Whether a string Foundation parsed out of the tool's output is `text`, scalar by
/// scalar (no canonical equivalence). Foundation drops a U+FEFF that opens a string
/// value or follows an escape in it (Python and JavaScript keep it), so U+FEFF is left
/// out of the comparison.
func foundationRead(_ parsed: String, as text: String) -> Bool {
    parsed.unicodeScalars.filter { $0 != "\u{FEFF}" }.elementsEqual(text.unicodeScalars.filter { $0 != "\u{FEFF}" })
}

/// The lines of an NDJSON buffer.
func ndjsonLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    bytes.split(separator: 0x0A)
}

extension [UInt8] {
    /// Holds the UTF-8 encoding of U+FEFF somewhere (Foundation drops it from the start
    /// of keys and values, so its reading of such bytes is no oracle).
    var containsBOM: Bool {
        count >= 3 && (0..<(count - 2)).contains { self[$0] == 0xEF && self[$0 + 1] == 0xBB && self[$0 + 2] == 0xBF }
    }
}

/// A number as its JSON text.
struct NumberText: Equatable {
    var text: String
}

/// Reads JSON the tool wrote, which its scanner has already validated, into objects
/// (`[String: Any]`, the last of a repeated key), arrays, `String`, `NumberText`,
/// `Bool` and `NSNull`: a reader of its own, simple and slow, because Foundation's
/// refuses numbers beyond a `Double` and drops a U+FEFF that opens a string.
struct WrittenJSONReader {
    private let bytes: [UInt8]
    private var index = 0

    static func object<Bytes: Collection<UInt8>>(_ json: Bytes) -> [String: Any]? {
        var reader = WrittenJSONReader(bytes: Array(json))
        let value = reader.value()
        return reader.index == reader.bytes.count ? value as? [String: Any] : nil
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func value() -> Any? {
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var object: [String: Any] = [:]
            while index < bytes.count, bytes[index] != UInt8(ascii: "}") {
                if bytes[index] == UInt8(ascii: ",") { index += 1 }
                guard let key = value() as? String, index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                guard let member = value() else { return nil }
                object[key] = member
            }
            index += 1
            return object
        case UInt8(ascii: "["):
            index += 1
            var array: [Any] = []
            while index < bytes.count, bytes[index] != UInt8(ascii: "]") {
                if bytes[index] == UInt8(ascii: ",") { index += 1 }
                guard let element = value() else { return nil }
                array.append(element)
            }
            index += 1
            return array
        case UInt8(ascii: "\""):
            return string()
        case UInt8(ascii: "t"): index += 4; return true
        case UInt8(ascii: "f"): index += 5; return false
        case UInt8(ascii: "n"): index += 4; return NSNull()
        default:
            let start = index
            while index < bytes.count, !",]}".utf8.contains(bytes[index]) { index += 1 }
            return NumberText(text: String(decoding: bytes[start..<index], as: UTF8.self))
        }
    }

    private mutating func string() -> String? {
        index += 1
        var scalars = String.UnicodeScalarView()
        var pendingHigh: UInt32?
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { index += 1; return pendingHigh == nil ? String(scalars) : nil }
            if byte != UInt8(ascii: "\\") {
                // A run of raw UTF-8 up to the next quote or backslash.
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") { index += 1 }
                guard pendingHigh == nil, let text = String(validating: bytes[start..<index], as: UTF8.self) else { return nil }
                scalars.append(contentsOf: text.unicodeScalars)
                continue
            }
            guard index + 1 < bytes.count else { return nil }
            let escape = bytes[index + 1]
            index += 2
            let simple: [UInt8: UInt32] = [0x22: 0x22, 0x5C: 0x5C, 0x2F: 0x2F, 0x62: 0x08, 0x66: 0x0C, 0x6E: 0x0A,
                                           0x72: 0x0D, 0x74: 0x09]
            var unit: UInt32
            if let mapped = simple[escape] {
                unit = mapped
            } else if escape == UInt8(ascii: "u"), index + 4 <= bytes.count,
                      let parsed = UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16) {
                unit = parsed
                index += 4
            } else {
                return nil
            }
            if let high = pendingHigh {
                guard (0xDC00...0xDFFF).contains(unit) else { return nil }
                unit = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00)
                pendingHigh = nil
            } else if (0xD800...0xDBFF).contains(unit) {
                pendingHigh = unit
                continue
            }
            guard let scalar = Unicode.Scalar(unit) else { return nil }
            scalars.append(scalar)
        }
        return nil
    }
}
