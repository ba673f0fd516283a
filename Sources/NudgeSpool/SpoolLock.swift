import NudgeCore
import NudgeSystem

/// An exclusive `flock` on `SPOOL/state/lock`, held while a run uses the spool. The
/// kernel releases it when the process ends, however it ends, so a killed run never
/// leaves a stale lock behind. The file holds the holder's pid and start time, for
/// the message a second run prints.
package final class SpoolLock {
    private let descriptor: FileDescriptor

    /// - Parameter holderName: the command that holds this lock, for the refusal message.
    package init(path: String, spool: String, holderName: String = "run") throws(SpoolError) {
        let file: FileDescriptor
        do { file = try .create(path, for: .readingAndWriting, truncating: false) } catch {
            throw .cannotCreate(path: path, error: error)
        }
        let isLocked: Bool
        do { isLocked = try file.tryLockExclusively() } catch {
            file.close()
            throw .cannotWrite(path: path, error: error)
        }
        guard isLocked else {
            let holder = Self.holder(file)
            file.close()
            throw .inUse(path: spool, command: holderName, holder: holder)
        }
        descriptor = file
        // Best effort: the text only names the holder in another run's refusal.
        let text = Array("process \(CurrentProcess.id), started \(Timestamp.now.isoString)\n".utf8)
        try? file.truncate(to: 0)
        _ = text.withUnsafeBytes { try? file.writeAll($0, at: 0) }
    }

    deinit {
        descriptor.close()  // releases the lock
    }

    /// What the lock file says of its holder.
    private static func holder(_ file: FileDescriptor) -> String {
        var buffer = [UInt8](repeating: 0, count: 200)
        let n = buffer.withUnsafeMutableBytes { (try? file.read(into: $0, at: 0)) ?? 0 }
        let text = n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : ""
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        return line.isEmpty ? "holder unknown" : line
    }
}
