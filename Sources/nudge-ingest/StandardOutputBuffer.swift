import ArgumentParser
import NudgeCore
import NudgeIngest
import NudgeRendering
import NudgeSystem

/// Standard output written in pieces of about ``flushAt`` bytes: a listing of any length
/// in bounded memory, without a system call per line.
struct StandardOutputBuffer: ~Copyable {
    static let flushAt = 64 << 10
    private var buffer = OutputBuffer(capacity: Self.flushAt + 4096)
    /// A write failed (a closed pipe): the rest is dropped, and the caller may stop.
    private(set) var failed = false

    var isFull: Bool { buffer.count >= Self.flushAt }

    mutating func append(_ bytes: UnsafeRawBufferPointer) { buffer.append(bytes) }
    mutating func append(_ text: String) { buffer.append(utf8: text) }

    mutating func flush() {
        if !failed && !buffer.isEmpty {
            do throws(SystemError) {
                try buffer.withBytes { (bytes) throws(SystemError) in try FileDescriptor.standardOutput.writeAll(bytes) }
            } catch {
                failed = true
            }
        }
        buffer.removeAll()
    }
}
