import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// The pieces `audit` reads the dropped spool with, in process: decoding strings that
/// nothing validated, parsing records from damaged lines, times and folder days.
struct AuditReadingTests {
    /// Strings written by Foundation's encoder (escapes of every kind, surrogate pairs)
    /// decode back to their text; malformed escapes give nil, never a crash.
    @Test func checkedDecodingAgreesWithFoundationAndRefusesBadEscapes() throws {
        var generator = SeededGenerator(seed: 61)
        let alphabet: [Character] = ["a", "Z", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "é", "€", "𝄞", " ", "\u{2028}"]
        for _ in 0..<2000 {
            let text = String((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            let encoded = try JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])
            let quoted = Array(encoded.dropFirst().dropLast())  // ["…"] → "…"
            let decoded = quoted.withUnsafeBytes { JSONMembers.decodedString($0, 0..<quoted.count) }
            #expect(decoded.map { String(decoding: $0, as: UTF8.self) } == text)
        }
        // Every \u escape, with surrogate pairs written as such.
        let pair = Array(#""\ud834\udd1e \u00E9\u0041""#.utf8)
        #expect(pair.withUnsafeBytes { JSONMembers.decodedString($0, 0..<pair.count) } == Array("𝄞 éA".utf8))
        for bad in [#""\u12""#, #""\"#, #""\x""#, #""\ud800""#, #""\udc00x""#, #""\ud834\u0041""#, #""\u12g4""#, "\"abc", "abc\""] {
            let bytes = Array(bad.utf8)
            #expect(bytes.withUnsafeBytes { JSONMembers.decodedString($0, 0..<bytes.count) } == nil, "\(bad)")
        }
    }

    /// A dropped record cut at every byte, or with any byte changed, is refused or read;
    /// it never crashes the reader.
    @Test func damagedRecordLinesAreRefusedNotTrusted() throws {
        let line = Array(#"{"reason":"not_identified","detail":"no identify of user \"u\" was accepted before this track","source":{"file":"a/b.gz","line":12},"type":"track","event":"Signed Up","message_id":"m\u00e9","raw":"{\"type\":\"track\",\"userId\":\"u\"}","raw_truncated":false}"#.utf8)
        let record = try line.withUnsafeBytes { try DroppedRecord.parse($0) }
        #expect(record.reason == .notIdentified && record.line == 12 && !record.rawTruncated)
        line.withUnsafeBytes { bytes in
            #expect(DroppedRecord.string(record.file, in: bytes) == "a/b.gz")
            #expect(DroppedRecord.string(record.messageID, in: bytes) == "mé")
            #expect(DroppedRecord.string(record.raw, in: bytes) == #"{"type":"track","userId":"u"}"#)
        }
        for cut in 0..<line.count {
            let prefix = Array(line[..<cut])
            #expect(throws: JSONMembers.Malformed.self) { try prefix.withUnsafeBytes { try DroppedRecord.parse($0) } }
        }
        var generator = SeededGenerator(seed: 62)
        for _ in 0..<3000 {
            var changed = line
            changed[Int.random(in: 0..<line.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            if let record = try? changed.withUnsafeBytes({ try DroppedRecord.parse($0) }) {
                changed.withUnsafeBytes { bytes in
                    _ = DroppedRecord.string(record.raw, in: bytes)
                    _ = DroppedRecord.string(record.detail, in: bytes)
                }
            }
        }
    }

    @Test func timesAndReceivedDays() {
        let day = Int64(1_741_564_800_000)  // 2025-03-10T00:00:00Z
        #expect(AuditFilter.parseTime("2025-03-10", isEnd: false) == day)
        #expect(AuditFilter.parseTime("2025-03-10", isEnd: true) == day + 86_400_000)
        #expect(AuditFilter.parseTime("2025-03-10T01:00:00+01:00", isEnd: false) == day)
        #expect(AuditFilter.parseTime("2025-03-10T00:00:00.250Z", isEnd: true) == day + 250)
        #expect(AuditFilter.parseTime("2025-03-10T00:00:00", isEnd: false) == day)
        for bad in ["2025-02-30", "2025-3-10", "yesterday", "", "2025-03-10T25:00:00Z"] {
            #expect(AuditFilter.parseTime(bad, isEnd: false) == nil, "\(bad)")
        }
        #expect(ScannedDrop.receivedDay(inPath: "segment-logs/src/1741564800000/1741593592988.f6bfd08c33c8.gz") == day)
        // The file name is a time too, but not a whole day: the folder is found.
        #expect(ScannedDrop.receivedDay(inPath: "/x/1741564800000/y/1741593592988.gz") == day)
        #expect(ScannedDrop.receivedDay(inPath: "exports/2025-03-10/part.gz") == nil)
        #expect(ScannedDrop.receivedDay(inPath: "-") == nil)
    }

    /// A fault is resolved by a later commit that read the same file whole: by its
    /// absolute path where both commits recorded one (the same relative path read from
    /// another folder is another file), else by its path; never by a later fault.
    @Test func aFaultIsResolvedOnlyByALaterWholeReadOfTheSameFile() {
        func commit(_ number: Int, _ inputs: [(path: String, absolute: String?, status: InputSummary.Status, records: Int)])
            -> LedgerEntry {
            LedgerEntry(commit: number, committedAt: "2026-12-07T00:00:0\(number).000Z", inputs: inputs.map {
                LedgerInput(path: $0.path, absolutePath: $0.absolute, size: 10 * number, fingerprint: "f\(number)",
                            format: .gzip, records: $0.records, accepted: 0, dropped: $0.records, status: $0.status)
            }, acceptedBytes: 0, droppedBytes: 0, journalBytes: 0, compressed: true)
        }
        let entries = [
            commit(1, [("part.gz", "/a/part.gz", .corrupt, 40), ("old.gz", nil, .corrupt, 7)]),
            // The same relative path under another folder: another file.
            commit(2, [("part.gz", "/b/part.gz", .ok, 90)]),
            // A second fault of old.gz resolves nothing.
            commit(3, [("old.gz", nil, .corrupt, 7)]),
            commit(4, [("part.gz", "/a/part.gz", .ok, 90), ("old.gz", nil, .ok, 12)]),
        ]
        let resolved = AuditReport.resolvedFaults(in: entries)
        #expect(resolved.map(\.path) == ["old.gz", "part.gz", "old.gz"])
        #expect(resolved.map(\.faultCommit) == [1, 1, 3] && resolved.map(\.resolvedCommit) == [4, 4, 4])
        #expect(resolved.map(\.rereadRecords) == [7, 40, 7])
        #expect(AuditReport.resolvedFaults(in: Array(entries.prefix(3))).isEmpty)
    }
}
