import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeSpool
@testable import NudgeSystem

/// The crash-safe file protocol every writer of the tool goes through: write aside,
/// sync, rename, sync the folder, and remove on the next open what a kill left.
@Suite struct DurableFilesTests {
    struct Interrupted: Error {}

    func bytes(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map(Array.init)
    }

    func names(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    @Test func theAsideFileIsHiddenBesideItsTarget() {
        #expect(DurableFiles.asidePath(of: "/spool/state/snapshot") == "/spool/state/.snapshot.partial")
        #expect(DurableFiles.asidePath(of: "keys.ndjson") == "./.keys.ndjson.partial")
        #expect(DurableFiles.folder(of: "/spool/state/snapshot") == "/spool/state")
        #expect(DurableFiles.folder(of: "/snapshot") == "/")
        #expect(DurableFiles.isLeftover(".00000003.ndjson.partial"))
        #expect(DurableFiles.isLeftover(".00000001.ndjson.redrive-00000004.partial"))
        #expect(!DurableFiles.isLeftover("00000003.ndjson"))
        #expect(!DurableFiles.isLeftover(".rejected.ndjson.requeue-3"))
        #expect(!DurableFiles.isLeftover(".rejected.ndjson.gz.requeue-3"))
    }

    @Test func anExistingTargetIsReplacedWhole() throws {
        try withTemporaryDirectory { url in
            let path = url.path + "/checkpoint.json"
            try DurableFiles.replace(path, with: Array("a long first version of the file\n".utf8))
            try DurableFiles.replace(path, with: Array("short\n".utf8))
            #expect(bytes(path) == Array("short\n".utf8))
            #expect(names(url.path) == ["checkpoint.json"])
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
        }
    }

    @Test func theStepBeforeTheRenameSeesTheAsideFileSyncedAndTheTargetUnchanged() throws {
        try withTemporaryDirectory { url in
            let path = url.path + "/snapshot"
            try DurableFiles.replace(path, with: [1, 2, 3])
            var seen: ([UInt8]?, [UInt8]?)
            try DurableFiles.replace(path, with: [4, 5], beforeRename: {
                seen = (bytes(path), bytes(DurableFiles.asidePath(of: path)))
            })
            #expect(seen.0 == [1, 2, 3] && seen.1 == [4, 5])
            #expect(bytes(path) == [4, 5])
        }
    }

    @Test func aFailedReplacementLeavesTheOldFileAndNoAsideFile() throws {
        try withTemporaryDirectory { url in
            let path = url.path + "/keys.ndjson"
            try DurableFiles.replace(path, with: Array("old\n".utf8))
            var failure: SpoolError?
            do {
                try DurableFiles.replace(path, writing: Self.writeHalfAndFail)
            } catch {
                failure = error as? SpoolError
            }
            #expect(failure != nil)
            #expect(bytes(path) == Array("old\n".utf8))
            #expect(names(url.path) == ["keys.ndjson"])
        }
    }

    /// What a kill between the aside file's sync and the rename leaves: the old file
    /// whole and a leftover, which the next open of the folder removes.
    /// A write of the aside file that fails half way.
    static func writeHalfAndFail(_ aside: String) throws(SpoolError) {
        try DurableFiles.write(Array("half of the new".utf8), to: aside)
        throw .cannotWrite(path: aside, error: .inputOutput)
    }

    @Test func aReplacementInterruptedBeforeTheRenameLeavesALeftoverTheNextOpenRemoves() throws {
        try withTemporaryDirectory { url in
            let path = url.path + "/checkpoint.json"
            try DurableFiles.replace(path, with: Array("old".utf8))
            let aside = DurableFiles.asidePath(of: path)
            try DurableFiles.write(Array("new, never renamed".utf8), to: aside)
            #expect(names(url.path) == [".checkpoint.json.partial", "checkpoint.json"])
            #expect(DurableFiles.removeLeftovers(in: url.path) == [aside])
            #expect(names(url.path) == ["checkpoint.json"])
            #expect(bytes(path) == Array("old".utf8))
            #expect(DurableFiles.removeLeftovers(in: url.path).isEmpty)
        }
    }

    @Test func aSpoolRemovesALeftoverWhenItIsOpened() throws {
        try withTemporaryDirectory { url in
            let directory = url.path + "/spool"
            do { _ = try Spool(directory: directory) }
            let leftover = directory + "/state/.snapshot.partial"
            try DurableFiles.write(Array("an interrupted compaction".utf8), to: leftover)
            let spool = try Spool(directory: directory)
            #expect(!FileManager.default.fileExists(atPath: leftover))
            #expect(spool.notes.count == 1)
        }
    }

    @Test func aMoveLeavesTheFileAtItsNewNameOnly() throws {
        try withTemporaryDirectory { url in
            try FileManager.default.createDirectory(atPath: url.path + "/kept", withIntermediateDirectories: false)
            let (from, to) = (url.path + "/rejected.ndjson", url.path + "/kept/rejected.ndjson")
            try DurableFiles.write([7, 8, 9], to: from)
            try DurableFiles.move(from, to: to)
            #expect(bytes(to) == [7, 8, 9])
            #expect(names(url.path) == ["kept"])
            #expect(throws: SpoolError.self) { try DurableFiles.move(from, to: to) }
            #expect(throws: SpoolError.self) { try DurableFiles.syncFolder(url.path + "/no-such-folder") }
        }
    }

    @Test func anAsideFileIsPutInPlaceWhenWrittenAndRemovedWhenEmptyOrDiscarded() throws {
        try withTemporaryDirectory { url in
            let folder = url.path
            var written = try AsideFile(replacing: folder + "/00000001.ndjson")
            let record = Array("{}\n".utf8)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: record.count, alignment: 1)
            defer { buffer.deallocate() }
            buffer.copyBytes(from: record)
            try written.write(UnsafeRawBufferPointer(buffer))
            try written.copy(from: folder + "/" + ".00000001.ndjson.partial", bytes: 2)
            try written.sync()
            try written.putInPlace()
            #expect(bytes(folder + "/00000001.ndjson") == Array("{}\n{}".utf8))

            var empty = try AsideFile(replacing: folder + "/00000002.ndjson")
            try empty.sync()
            try empty.putInPlace()

            var abandoned = try AsideFile(replacing: folder + "/00000003.ndjson", aside: folder + "/.rewrite.partial")
            #expect(names(folder).contains(".rewrite.partial"))
            abandoned.discard()
            #expect(names(folder) == ["00000001.ndjson"])
        }
    }
}
