import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore
@testable import NudgeSystem

/// The background writer: blocks reach their files in submission order, and a failed
/// write reaches the caller.
@Suite struct BackgroundWriterTests {
    /// Blocks for two files, queued faster than one pending block allows, reach each
    /// file complete and in the order they were submitted.
    @Test func backgroundWritesKeepSubmissionOrder() throws {
        try withTemporaryDirectory { dir in
            let paths = ["a", "b"].map { dir.appendingPathComponent($0).path }
            let descriptors = try paths.map { try FileDescriptor.create($0) }
            defer { descriptors.forEach { $0.close() } }
            let writer = BackgroundWriter(maxPending: 1)
            defer { writer.stop() }
            var expected = [String](repeating: "", count: 2)
            var buffer = OutputBuffer(capacity: 16)
            for block in 0..<200 {
                let file = block % 3 == 0 ? 1 : 0
                let text = String(repeating: "\(block) ", count: 1 + block % 50) + "\n"
                buffer.append(utf8: text)
                expected[file] += text
                try writer.submit(&buffer, to: descriptors[file])
            }
            try writer.drain()
            for (path, text) in zip(paths, expected) {
                #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
            }
        }
    }

    /// A write error on the writing thread reaches the caller at the next submit or drain.
    @Test func aFailedBackgroundWriteIsReported() throws {
        let writer = BackgroundWriter()
        defer { writer.stop() }
        var buffer = OutputBuffer(capacity: 16)
        buffer.append("record\n")
        let readOnly = try FileDescriptor.open("/dev/null", for: .reading)
        defer { readOnly.close() }
        // The writing thread may fail before `submit` returns: then `submit` reports it.
        var failure: BackgroundWriter.Failure?
        do { try writer.submit(&buffer, to: readOnly) } catch { failure = error }
        let isEmpty = buffer.isEmpty
        #expect(isEmpty)
        // write(2) on a descriptor opened for reading: EBADF, with the descriptor named.
        if failure == nil { failure = #expect(throws: BackgroundWriter.Failure.self) { try writer.drain() } }
        #expect(failure?.descriptor == readOnly)
        #expect(failure?.error == SystemError(code: EBADF))
    }
}
