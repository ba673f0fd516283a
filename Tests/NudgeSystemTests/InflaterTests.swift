import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeSystem

/// The two inflate backends driven directly, each on its own: ISA-L finds a broken
/// stream's fault where zlib does, by itself (the reader hands a fault over to zlib, so
/// only a test of the inflaters can tell whether ISA-L's own offsets agree).
@Suite struct InflaterTests {
    /// What one inflater made of a stream: the bytes it handed on, and its fault.
    struct Inflated: Equatable {
        var output: [UInt8] = []
        var fault: GzipFault?
        var faultOffset: Int?
    }

    /// Feeds `input` to `inflater` `chunk` bytes at a time, then finishes it.
    static func inflate(_ input: [UInt8], with inflater: any GzipStreamInflater, chunk: Int) -> Inflated {
        var result = Inflated()
        do {
            try input.withUnsafeBytes { raw in
                var start = 0
                while start < raw.count {
                    let end = min(start + chunk, raw.count)
                    try inflater.inflate(UnsafeRawBufferPointer(rebasing: raw[start..<end])) { result.output += $0 }
                    start = end
                }
            }
            try inflater.finish()
        } catch {
            result.fault = error as? GzipFault
            result.faultOffset = inflater.faultOffset
        }
        return result
    }

    /// A multi-member file (an empty member between two) cut at every byte, and with
    /// garbage after a member: ISA-L's own fault and offset are zlib's, and what it
    /// handed on is zlib's, or a prefix of it short of the few bytes whose bits it
    /// read at a truncation (it decodes up to three literals per table lookup).
    @Test func bothBackendsFaultAtTheSameOffsets() throws {
        if let reason = InflateBackend.isalUnavailableReason {
            FileHandle.standardError.write(Data("InflaterTests: ISA-L variant skipped: \(reason)\n".utf8))
            try Test.cancel("ISA-L variant skipped: \(reason)")
        }
        let text = (1...120).map { "{\"type\":\"track\",\"n\":\($0),\"s\":\"\(String(repeating: "ü", count: $0 % 7))\"}\n" }.joined()
        let plain = Array(text.utf8)
        let compressed = try gzip(Array(plain.prefix(500))) + gzip([]) + gzip(plain, level: 1)
        var inputs = (2...compressed.count).map { Array(compressed.prefix($0)) }
        inputs += [compressed + [0x00], compressed + [0x1f, 0x8c], compressed + [0x1f]]
        var truncated = 0, garbage = 0, complete = 0
        for input in inputs {
            let isalInflater = try InflateBackend.isal.makeInflater(outputCapacity: 33)
            #expect(isalInflater is IsalInflater)
            let isal = Self.inflate(input, with: isalInflater, chunk: 5)
            let zlib = Self.inflate(input, with: try InflateBackend.zlib.makeInflater(outputCapacity: 33), chunk: 5)
            let at = "\(input.count) of \(compressed.count) bytes"
            #expect(isal.fault == zlib.fault, "\(at)")
            #expect(isal.faultOffset == zlib.faultOffset, "\(at)")
            #expect(zlib.output.starts(with: isal.output), "\(at)")
            #expect(zlib.output.count - isal.output.count <= 3, "\(at): ISA-L handed on \(isal.output.count), zlib \(zlib.output.count)")
            switch zlib.fault {
            case .truncated: truncated += 1
            case .trailingGarbage: garbage += 1
            case nil: complete += 1; #expect(isal.output == zlib.output, "\(at)")
            case .corrupt: Issue.record("\(at): \(String(describing: zlib.fault))")
            }
        }
        // Complete where a cut falls between members; the whole file inflates to its text.
        #expect(garbage == 2 && complete == 3 && truncated == inputs.count - 5, "\(truncated) \(garbage) \(complete)")
        let whole = Self.inflate(compressed, with: try InflateBackend.isal.makeInflater(outputCapacity: 33), chunk: 5)
        #expect(whole.fault == nil && whole.output == Array(plain.prefix(500)) + plain)
    }
}
