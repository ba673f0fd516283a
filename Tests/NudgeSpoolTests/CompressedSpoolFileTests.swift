import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeSpool
@testable import NudgeSystem

/// Compressed spool files as the spool's writer makes them and its readers read them:
/// the same lines, offsets and seeks as plain files, and damage reported.
@Suite struct CompressedSpoolFileTests {
    /// Commits `lines` as one commit of a new spool at `spool`, compressed in members of
    /// `memberBytes` or plain; returns the committed accepted file.
    static func commit(_ lines: [String], to spool: String, compressed: Bool, memberBytes: Int) throws -> CommittedFile {
        let opened = try Spool(directory: spool)
        var state = try opened.loadState()
        let writer = SpoolWriter(directory: spool, flushThreshold: 777, compressed: compressed, memberBytes: memberBytes,
                                 compressors: 2)
        try writer.begin(commit: 1)
        for (i, line) in lines.enumerated() {
            writer.accepted.append(utf8: line + "\n")
            if i % 5 == 0 { try writer.flushIfNeeded() }
        }
        let input = LedgerInput(path: "in.ndjson", size: 1, fingerprint: "f", format: .plain, records: lines.count,
                                accepted: lines.count, dropped: 0, status: .ok)
        try opened.commit([input], writer: writer, state: &state)
        return try #require(try Ledger.committed(inSpool: spool).acceptedFiles.first)
    }

    static let lines = (0..<2_000).map { i in
        #"{"kind":"identify","body":{"ext_id":"user-\#(i)","traits":{"note":"\#(String(repeating: "ü", count: i % 61))"}}}"#
    }

    /// Every line, line number and offset a reader gives of a compressed file is that of
    /// the plain file with the same records; a seek to any line's offset goes on from
    /// that line, and the file inflates with `gzip -dc` to the plain file's bytes.
    @Test func aCompressedFileReadsAsThePlainOne() throws {
        try withTemporaryDirectory { dir in
            let plainSpool = dir.appendingPathComponent("plain").path
            let plain = try Self.commit(Self.lines, to: plainSpool, compressed: false, memberBytes: 0)
            let plainBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: plainSpool + "/accepted/00000001.ndjson")))
            for memberBytes in [1, 5_000, 70_000, 1 << 20] {
                let spool = dir.appendingPathComponent("gz-\(memberBytes)").path
                let file = try Self.commit(Self.lines, to: spool, compressed: true, memberBytes: memberBytes)
                #expect(file.compressed && !plain.compressed)
                let path = spool + "/accepted/00000001.ndjson.gz"
                #expect(try gunzip([UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) == plainBytes)

                var fromPlain = SpoolLineReader(folder: plainSpool + "/accepted", files: [plain])
                var fromCompressed = SpoolLineReader(folder: spool + "/accepted", files: [file])
                var positions: [(offset: Int, line: Int, text: ArraySlice<UInt8>)] = []
                while let line = try fromPlain.nextLine() {
                    let other = try #require(try fromCompressed.nextLine())
                    #expect(other == line && fromCompressed.lineOffset == fromPlain.lineOffset
                            && fromCompressed.lineNumber == fromPlain.lineNumber)
                    positions.append((fromPlain.lineOffset, fromPlain.lineNumber, line))
                }
                #expect(try fromCompressed.nextLine() == nil && positions.count == Self.lines.count)
                for position in positions.enumerated().filter({ $0.offset % 97 == 0 || $0.offset == positions.count - 1 }) {
                    try fromCompressed.seek(file: 0, offset: position.element.offset, line: position.element.line)
                    #expect(try fromCompressed.nextLine() == position.element.text, "member \(memberBytes)")
                    #expect(fromCompressed.lineNumber == position.element.line)
                }
                try fromCompressed.seek(file: 0, offset: plainBytes.count, line: positions.count + 1)
                #expect(try fromCompressed.nextLine() == nil)
            }
        }
    }

    /// A member with a changed byte, or one cut short, is reported with the file and
    /// the member's place; a file of another size than its commit's is `changed`.
    @Test func aDamagedMemberIsReportedNotRead() throws {
        try withTemporaryDirectory { dir in
            let spool = dir.appendingPathComponent("spool").path
            let file = try Self.commit(Self.lines, to: spool, compressed: true, memberBytes: 20_000)
            let url = URL(fileURLWithPath: spool + "/accepted/00000001.ndjson.gz")
            let original = try Data(contentsOf: url)
            func readAll() throws(SpoolReadError) {
                var reader = SpoolLineReader(folder: spool + "/accepted", files: [file])
                while try reader.nextLine() != nil {}
            }
            let second = original.withUnsafeBytes { SpoolMember.header($0)! }.memberBytes
            var damaged = original
            damaged[second + 100] ^= 0xFF
            try damaged.write(to: url)
            #expect {
                try readAll()
            } throws: {
                "\($0)".contains("00000001.ndjson.gz is damaged: the member at byte \(second) is damaged")
            }
            var wrongLength = original
            wrongLength[second + 20] &+= 1  // the inflated length it gives
            try wrongLength.write(to: url)
            #expect { try readAll() } throws: { "\($0)".contains("the member at byte \(second)") }
            try original.prefix(second).write(to: url)
            #expect { try readAll() } throws: { "\($0)".contains("but the ledger gives it") }
            try original.write(to: url)
            try readAll()
        }
    }
}
