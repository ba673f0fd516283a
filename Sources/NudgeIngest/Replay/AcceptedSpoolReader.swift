#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One accepted record read back from the spool, with its body's exact bytes.
public struct AcceptedRecord: Sendable {
    public var record: ReplayRecord
    /// The `body` object exactly as the spool holds it: what is sent.
    public var body: [UInt8]
    /// The record's `message_id` text (JSON, escaped) when it was a string.
    public var messageID: String?
    /// Where it is: commit number and 1-based line of `accepted/NNNNNNNN.ndjson`.
    public var commit: Int
    public var line: Int
}

/// Reads the accepted spool in order, as far as the ledger has committed when it is
/// created: the files of commits 1…N, line by line, 1 MiB at a time whatever a file's
/// size. Files and bytes the ledger does not vouch for (an unfinished commit) are never
/// read.
public struct AcceptedSpoolReader {
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case unreadable(path: String, errno: Int32)
        case malformed(path: String, line: Int, problem: String)

        public var description: String {
            switch self {
            case .unreadable(let path, let code): "cannot read \(path): \(String(cString: strerror(code)))"
            case .malformed(let path, let line, let problem): "\(path):\(line): not an accepted record: \(problem)"
            }
        }
    }

    let folder: String
    /// (commit, file size) of every commit with accepted records, in order.
    let files: [(commit: Int, bytes: Int)]
    /// Records in all files: what `sequence` counts.
    public private(set) var nextSequence = 0
    private var fileIndex = -1
    private var descriptor: Int32 = -1
    /// Bytes of the current file read so far, and the unread part of them.
    private var offset = 0
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var lineNumber = 0
    /// Bytes read at a time.
    var chunkBytes = 1 << 20

    public init(spool: String, ledger: Ledger) {
        folder = spool + "/accepted"
        files = ledger.entries.filter { $0.acceptedBytes > 0 }.map { ($0.commit, $0.acceptedBytes) }
    }

    /// The next record in spool order, or nil at the end of what was committed.
    public mutating func next() throws(Failure) -> AcceptedRecord? {
        guard let line = try nextLine() else { return nil }
        let commit = files[fileIndex].commit
        defer { nextSequence += 1 }
        do {
            return try Self.parse(line, sequence: nextSequence, commit: commit, line: lineNumber)
        } catch {
            throw .malformed(path: path(of: fileIndex), line: lineNumber, problem: error.problem)
        }
    }

    /// Moves past the records before `sequence` without parsing them (they are done).
    public mutating func skip(to sequence: Int) throws(Failure) {
        while nextSequence < sequence, try nextLine() != nil { nextSequence += 1 }
    }

    private func path(of index: Int) -> String { folder + "/" + LedgerEntry.spoolFileName(files[index].commit) }

    /// The next line, read in bounded chunks, up to the size the ledger gives each file.
    private mutating func nextLine() throws(Failure) -> ArraySlice<UInt8>? {
        while true {
            if let newline = pending[pendingStart...].firstIndex(of: 0x0A) {
                defer { pendingStart = newline + 1 }
                lineNumber += 1
                return pending[pendingStart..<newline]
            }
            if fileIndex >= 0 && offset < files[fileIndex].bytes {
                try readChunk()
                continue
            }
            if fileIndex >= 0 && pendingStart < pending.count {
                throw .malformed(path: path(of: fileIndex), line: lineNumber + 1, problem: "the last line has no end")
            }
            guard fileIndex + 1 < files.count else {
                if descriptor >= 0 { close(descriptor) }
                descriptor = -1
                return nil
            }
            try openNext()
        }
    }

    private mutating func openNext() throws(Failure) {
        if descriptor >= 0 { close(descriptor) }
        fileIndex += 1
        descriptor = open(path(of: fileIndex), O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(path: path(of: fileIndex), errno: errno) }
        (offset, lineNumber, pending, pendingStart) = (0, 0, [], 0)
    }

    private mutating func readChunk() throws(Failure) {
        pending.removeFirst(pendingStart)
        pendingStart = 0
        let want = min(chunkBytes, files[fileIndex].bytes - offset)
        let start = pending.count
        pending += repeatElement(0, count: want)
        let (fd, at) = (descriptor, offset)
        var n = -1
        repeat {
            n = pending.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + start, want, off_t(at)) }
        } while n < 0 && errno == EINTR
        guard n > 0 else {
            throw .unreadable(path: path(of: fileIndex), errno: n == 0 ? EIO : errno)
        }
        pending.removeLast(want - n)
        offset += n
    }

    struct ParseError: Error {
        var problem: String
    }

    /// `{"kind":…,"body":{…},"message_id":…,…}`: the members replay needs.
    static func parse(_ line: ArraySlice<UInt8>, sequence: Int, commit: Int, line number: Int) throws(ParseError) -> AcceptedRecord {
        let bytes = Array(line)
        var kind: ReplayRecord.Kind?
        var body: Range<Int>?
        var messageID: String?
        try JSONMembers.forEach(in: bytes, object: 0..<bytes.count) { (key, value) throws(ParseError) in
            switch key {
            case "kind":
                let text = String(decoding: bytes[value], as: UTF8.self)
                kind = text == "\"identify\"" ? .identify : text == "\"track\"" ? .track : nil
            case "body": body = value
            case "message_id":
                if bytes[value.lowerBound] == 0x22 {
                    messageID = String(decoding: bytes[(value.lowerBound + 1)..<(value.upperBound - 1)], as: UTF8.self)
                }
            default: break
            }
        }
        guard let kind else { throw ParseError(problem: "no \"kind\" of identify or track") }
        guard let body, bytes[body.lowerBound] == 0x7B else { throw ParseError(problem: "no \"body\" object") }
        var extID: String?
        try JSONMembers.forEach(in: bytes, object: body) { (key, value) throws(ParseError) in
            if key == "ext_id" && bytes[value.lowerBound] == 0x22 {
                extID = String(decoding: bytes[(value.lowerBound + 1)..<(value.upperBound - 1)], as: UTF8.self)
            }
        }
        guard let extID else { throw ParseError(problem: "the body has no string \"ext_id\"") }
        return AcceptedRecord(
            record: ReplayRecord(sequence: sequence, kind: kind, extID: extID, bodyBytes: body.count),
            body: Array(bytes[body]), messageID: messageID, commit: commit, line: number)
    }
}

/// Walks the members of a JSON object the tool wrote, handing out each key (its
/// escaped text) and the byte range of its value. Values are skipped structurally;
/// anything that does not fit JSON's grammar is an error, never a crash.
enum JSONMembers {
    static func forEach(
        in bytes: [UInt8], object: Range<Int>, _ body: (String, Range<Int>) throws(AcceptedSpoolReader.ParseError) -> Void
    ) throws(AcceptedSpoolReader.ParseError) {
        var at = object.lowerBound
        func fail(_ what: String) -> AcceptedSpoolReader.ParseError { .init(problem: "\(what) at byte \(at)") }
        func skipSpace() { while at < object.upperBound, [0x20, 0x09, 0x0D, 0x0A].contains(bytes[at]) { at += 1 } }
        skipSpace()
        guard at < object.upperBound, bytes[at] == 0x7B else { throw fail("expected an object") }
        at += 1
        skipSpace()
        if at < object.upperBound && bytes[at] == 0x7D { return }
        while true {
            skipSpace()
            guard at < object.upperBound, bytes[at] == 0x22 else { throw fail("expected a key") }
            let keyEnd = try skipValue(bytes, from: at, limit: object.upperBound)
            let key = String(decoding: bytes[(at + 1)..<(keyEnd - 1)], as: UTF8.self)
            at = keyEnd
            skipSpace()
            guard at < object.upperBound, bytes[at] == 0x3A else { throw fail("expected ':'") }
            at += 1
            skipSpace()
            let valueEnd = try skipValue(bytes, from: at, limit: object.upperBound)
            try body(key, at..<valueEnd)
            at = valueEnd
            skipSpace()
            guard at < object.upperBound else { throw fail("unterminated object") }
            if bytes[at] == 0x7D { return }
            guard bytes[at] == 0x2C else { throw fail("expected ',' or '}'") }
            at += 1
        }
    }

    /// The end of the value starting at `start`.
    static func skipValue(_ bytes: [UInt8], from start: Int, limit: Int) throws(AcceptedSpoolReader.ParseError) -> Int {
        var at = start
        var depth = 0
        repeat {
            guard at < limit else { throw .init(problem: "a value runs past the end at byte \(start)") }
            switch bytes[at] {
            case 0x22:
                at += 1
                while true {
                    guard at < limit else { throw .init(problem: "unterminated string at byte \(start)") }
                    if bytes[at] == 0x5C { at += 2; continue }
                    if bytes[at] == 0x22 { break }
                    at += 1
                }
                at += 1
            case 0x7B, 0x5B:
                depth += 1
                at += 1
            case 0x7D, 0x5D:
                depth -= 1
                at += 1
            default:
                // Numbers, literals, separators and whitespace inside containers.
                at += 1
                if depth == 0 {
                    while at < limit, !Self.endsScalar(bytes[at]) { at += 1 }
                }
            }
        } while depth > 0
        guard depth == 0 else { throw .init(problem: "unbalanced brackets at byte \(start)") }
        return at
    }

    private static func endsScalar(_ byte: UInt8) -> Bool {
        byte == 0x2C || byte == 0x7D || byte == 0x5D || byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}
