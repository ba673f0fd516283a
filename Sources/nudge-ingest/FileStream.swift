import ArgumentParser
import Dispatch
import NudgeCore
import NudgeIngest
import NudgeRendering
import NudgeSpool
import NudgeSystem
import Synchronization

/// Unbuffered writes to a file descriptor.
struct FileStream {
    let descriptor: FileDescriptor
    static let standardError = FileStream(descriptor: .standardError)
    static let standardOutput = FileStream(descriptor: .standardOutput)

    /// Writes all of `text`; a failure (a closed pipe) is not reported: there is no one to tell.
    func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = try? descriptor.writeAll(UnsafeRawBufferPointer(bytes)) }
    }
}
