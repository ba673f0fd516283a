// Shared by every fuzz target: property checks that stop the fuzzer with a finding,
// and small independent re-implementations the targets compare against.
//
// Compiled into each target binary by `scripts/fuzz.py`, never into the package.

import Foundation
@testable import NudgeIngest

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
