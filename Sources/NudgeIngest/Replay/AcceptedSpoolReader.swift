import NudgeCore
import NudgeSpool

/// Reads the accepted spool in order, as far as the ledger has committed when it is
/// created: the files of commits 1…N, line by line, 1 MiB at a time whatever a file's
/// size. Files and bytes the ledger does not vouch for (an unfinished commit) are never
/// read.
package struct AcceptedSpoolReader {
    package typealias Failure = SpoolReadError

    private var lines: SpoolLineReader
    /// Records in all files: what `sequence` counts.
    package private(set) var nextSequence = 0
    /// Bytes read at a time.
    var chunkBytes: Int {
        get { lines.chunkBytes }
        set { lines.chunkBytes = newValue }
    }

    package init(spool: String, ledger: Ledger) {
        lines = SpoolLineReader(folder: spool + "/accepted", files: ledger.acceptedFiles)
    }

    /// The next record in spool order, or nil at the end of what was committed.
    package mutating func next() throws(Failure) -> AcceptedRecord? {
        guard let line = try lines.nextLine() else { return nil }
        defer { nextSequence += 1 }
        do {
            return try Self.parse(line, sequence: nextSequence, commit: lines.commit, line: lines.lineNumber)
        } catch {
            throw .malformed(path: lines.path(of: lines.fileIndex), line: lines.lineNumber, problem: error.problem)
        }
    }

    /// The next record whose sequence `wanted` accepts, moving past the others without
    /// parsing them (they are done); nil at the end of what was committed.
    package mutating func next(where wanted: (Int) -> Bool) throws(Failure) -> AcceptedRecord? {
        while !wanted(nextSequence) {
            guard try lines.nextLine() != nil else { return nil }
            nextSequence += 1
        }
        return try next()
    }

    /// Moves past the records before `sequence` without parsing them (they are done).
    package mutating func skip(to sequence: Int) throws(Failure) {
        while nextSequence < sequence, try lines.nextLine() != nil { nextSequence += 1 }
    }

    /// `{"kind":…,"body":{…},"message_id":…,…}`: the members replay needs.
    static func parse(_ line: ArraySlice<UInt8>, sequence: Int, commit: Int, line number: Int) throws(JSONMembers.Malformed) -> AcceptedRecord {
        let bytes = Array(line)
        return try bytes.withUnsafeBytes { bytes in Result { () throws(JSONMembers.Malformed) in
            var kind: ReplayRecord.Kind?
            var body: Range<Int>?
            var messageID: String?
            try JSONMembers.forEach(in: bytes, object: 0..<bytes.count) { (key, value) throws(JSONMembers.Malformed) in
                if key.equals("kind") {
                    let text = UnsafeRawBufferPointer(rebasing: bytes[value])
                    kind = text.equals("\"identify\"") ? .identify : text.equals("\"track\"") ? .track : nil
                } else if key.equals("body") {
                    body = value
                } else if key.equals("message_id") && bytes[value.lowerBound] == 0x22 {
                    messageID = String(decoding: bytes[(value.lowerBound + 1)..<(value.upperBound - 1)], as: UTF8.self)
                }
            }
            guard let kind else { throw .init(problem: "no \"kind\" of identify or track") }
            guard let body, bytes[body.lowerBound] == 0x7B else { throw .init(problem: "no \"body\" object") }
            var extID: String?
            try JSONMembers.forEach(in: bytes, object: body) { (key, value) throws(JSONMembers.Malformed) in
                if key.equals("ext_id") && bytes[value.lowerBound] == 0x22 {
                    extID = String(decoding: bytes[(value.lowerBound + 1)..<(value.upperBound - 1)], as: UTF8.self)
                }
            }
            guard let extID else { throw .init(problem: "the body has no string \"ext_id\"") }
            return AcceptedRecord(
                record: ReplayRecord(sequence: sequence, kind: kind, extID: extID, bodyBytes: body.count),
                body: Array(bytes[body]), messageID: messageID, commit: commit, line: number)
        } }.get()
    }
}
