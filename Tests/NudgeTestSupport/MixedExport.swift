import NudgeCore

/// A random export for the pipeline's property tests: random mixes of good and broken
/// lines (oversized, invalid UTF-8, blank, CRLF, a byte order mark), its decompressed
/// stream and the lines the contract frames from it.
package struct MixedExport {
    /// The line limit the property tests run with: some lines of the mix exceed it.
    package static let maxLineBytes = 512

    package var stream: [UInt8] = []
    /// Record lines by physical line number, as the contract frames them.
    package var records: [Int: [UInt8]] = [:]

    package static func random(_ random: inout RandomJSON) -> MixedExport {
        var export = MixedExport()
        if random.chance(20) { export.stream += [0xEF, 0xBB, 0xBF] }
        let count = Int.random(in: 1...250, using: &random.generator)
        for number in 1...count {
            var line: [UInt8]
            switch Int.random(in: 0..<100, using: &random.generator) {
            case 0..<20:
                let user = "U \(Int.random(in: 0..<6, using: &random.generator))"
                line = Array("{\"type\":\"identify\",\"userId\":\"\(user)\",\"anonymousId\":\"a\(user.count)\",\"messageId\":\"m\(Int.random(in: 0..<300, using: &random.generator))\",\"traits\":".utf8)
                random.object(depth: 1, into: &line)
                line.append(0x7D)
            case 20..<45:
                let who = random.chance(70) ? "\"userId\":\"u \(Int.random(in: 0..<8, using: &random.generator))\"" : "\"anonymousId\":\"a3\""
                line = Array("{\"type\":\"track\",\(who),\"event\":\"Ev \(Int.random(in: 0..<4, using: &random.generator))\",\"timestamp\":\"\(random.timestamp())\",\"properties\":".utf8)
                random.object(depth: 1, into: &line)
                line.append(0x7D)
            case 45..<65: line = random.event()
            case 65..<80: line = random.mutate(random.event())
            case 80..<85: line = Array("{\"type\":\"identify\",\"userId\":\"é\u{FEFF}".utf8) + [0xC3, 0x28, 0xFF, 0xED, 0xA0, 0x80] + Array("\"}".utf8)
            case 85..<88: line = Array(repeating: 0x20, count: Int.random(in: 513...3000, using: &random.generator)) + Array("{\"type\":\"identify\",\"userId\":\"long\"}".utf8)
            case 88..<90: line = Array("[\"not\", \"an object\"]".utf8)
            default: line = random.pick([[], [0x20], [0x09, 0x20], [0x0D], [0x0D, 0x0D], [0x20, 0x0D]])
            }
            line.removeAll { $0 == 0x0A }
            let last = number == count
            let terminator: [UInt8] = last && random.chance(30) ? [] : random.chance(30) ? [0x0D, 0x0A] : [0x0A]
            export.stream += line + terminator
            // The record, framed by the contract's rules: one trailing \r removed,
            // lines of only spaces and tabs skipped.
            var framed = line + (terminator.count == 2 ? [0x0D] : [])
            if framed.last == 0x0D { framed.removeLast() }
            if !framed.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { export.records[number] = framed }
        }
        return export
    }

    /// The export as gzip members cut at random points of the stream.
    package static func gzipMembers(_ stream: [UInt8], _ random: inout RandomJSON) throws -> [UInt8] {
        var cuts = (0..<Int.random(in: 0...3, using: &random.generator)).map { _ in
            Int.random(in: 0...stream.count, using: &random.generator)
        }
        cuts = ([0] + cuts.sorted() + [stream.count])
        var file: [UInt8] = []
        for (start, end) in zip(cuts, cuts.dropFirst()) {
            file += try gzip(Array(stream[start..<end]), level: Int.random(in: 1...9, using: &random.generator))
        }
        return file
    }
}
