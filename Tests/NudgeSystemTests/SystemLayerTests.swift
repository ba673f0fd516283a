import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeSystem

/// NudgeSystem's file and process calls, on a real file system: what each returns and
/// which typed error each throws, since every layer above reports those errors to users.
@Suite struct SystemLayerTests {
    @Test func openingAMissingFileThrowsItsErrno() throws {
        try withTemporaryDirectory { dir in
            let missing = dir.appendingPathComponent("missing").path
            let error = #expect(throws: SystemError.self) { try FileDescriptor.open(missing, for: .reading) }
            #expect(error == .noSuchFile)
            #expect(error?.description == "No such file or directory")
            #expect(error?.isPermissionDenied == false)
        }
    }

    @Test func aCreatedFileIsPrivateAndReadsBackWhatWasWritten() throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("file").path
            let file = try FileDescriptor.create(path, for: .readingAndWriting)
            defer { file.close() }
            try file.writeAll(Array("hello, world\n".utf8))
            try Array("J".utf8).withUnsafeBytes { try file.writeAll($0, at: 7) }
            try file.sync()
            #expect(try file.status().size == 13)
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = try buffer.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
            #expect(String(decoding: buffer[..<n], as: UTF8.self) == "hello, Jorld\n")
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            try file.truncate(to: 5)
            #expect(try file.seekToEnd() == 5)
            let mapped = try file.mapForReading(count: 5)
            #expect(Array(mapped.bytes) == Array("hello".utf8))
        }
    }

    /// `flock` belongs to the open file: a second open in the same process is refused,
    /// and closing the first releases it.
    @Test func anExclusiveLockIsHeldUntilItsFileIsClosed() throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("lock").path
            let first = try FileDescriptor.create(path, for: .readingAndWriting, truncating: false)
            let second = try FileDescriptor.create(path, for: .readingAndWriting, truncating: false)
            defer { second.close() }
            #expect(try first.tryLockExclusively())
            #expect(try !second.tryLockExclusively())
            first.close()
            #expect(try second.tryLockExclusively())
        }
    }

    /// Names come back as the file system's bytes, sorted bytewise, even when they are
    /// not UTF-8, and each can be opened again by those bytes.
    @Test func directoryEntriesAreBytesSortedBytewise() throws {
        try withTemporaryDirectory { dir in
            let folder = Array(dir.path.utf8)
            let names: [[UInt8]] = [Array("b.gz".utf8), [0x61, 0xFF, 0x2E, 0x67, 0x7A], Array("A".utf8)]
            for name in names {
                try FileDescriptor.create(folder + [0x2F] + name).close()
            }
            try FileSystem.createDirectoryIfMissing(dir.appendingPathComponent("sub").path)
            try FileSystem.createDirectoryIfMissing(dir.appendingPathComponent("sub").path)  // present: no error
            let entries = try FileSystem.entries(of: folder)
            #expect(entries == [Array("A".utf8), [0x61, 0xFF, 0x2E, 0x67, 0x7A], Array("b.gz".utf8), Array("sub".utf8)])
            let odd = folder + [0x2F, 0x61, 0xFF, 0x2E, 0x67, 0x7A]
            #expect(try FileSystem.status(of: odd).kind == .regular)
            #expect(try FileSystem.status(of: folder + Array("/sub".utf8)).kind == .directory)
            #expect(FileSystem.regularFileSize(folder + Array("/sub".utf8)) == nil)
            #expect(throws: SystemError.noSuchFile) { try FileSystem.entries(of: folder + Array("/none".utf8)) }
        }
    }

    @Test func linksAreSeenOrFollowedAsAsked() throws {
        try withTemporaryDirectory { dir in
            let target = dir.appendingPathComponent("target").path
            let link = dir.appendingPathComponent("link").path
            try FileDescriptor.create(target).close()
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
            #expect(try FileSystem.status(of: link, followingLinks: false).kind == .symbolicLink)
            let followed = try FileSystem.status(of: link)
            let direct = try FileSystem.status(of: target)
            #expect(followed.kind == .regular && followed.inode == direct.inode && followed.device == direct.device)
            #expect(FileSystem.canonicalPath(link).map { String(decoding: $0, as: UTF8.self) }
                    == FileSystem.canonicalPath(target).map { String(decoding: $0, as: UTF8.self) })
            try FileSystem.rename(target, to: target + ".moved")
            #expect(throws: SystemError.noSuchFile) { try FileSystem.status(of: link) }
            #expect(FileSystem.remove(target + ".moved"))
            #expect(!FileSystem.remove(target + ".moved"))
        }
    }

    @Test func globsMatchNamesOrPathsAsTheShellDoes() {
        #expect(FileSystem.matches(glob: "*.gz", Array("a.gz".utf8), slashesMustMatch: false))
        #expect(!FileSystem.matches(glob: "*.gz", Array("a.gz.partial".utf8), slashesMustMatch: false))
        #expect(FileSystem.matches(glob: "1743*/*.gz", Array("17430/x.gz".utf8), slashesMustMatch: true))
        #expect(!FileSystem.matches(glob: "*.gz", Array("day/x.gz".utf8), slashesMustMatch: true))
    }

    @Test func theEnvironmentIsRead() {
        #expect(CurrentProcess.environment("PATH") == ProcessInfo.processInfo.environment["PATH"])
        #expect(CurrentProcess.environment("NUDGE_INGEST_SURELY_UNSET_\(CurrentProcess.id)") == nil)
        #expect(CurrentProcess.id == ProcessInfo.processInfo.processIdentifier)
    }
}
