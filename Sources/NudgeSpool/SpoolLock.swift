import NudgeCore
import NudgeSystem

/// An exclusive `flock` on `SPOOL/state/lock`, held while a run uses the spool. The
/// kernel releases it when the process ends, however it ends, so a killed run never
/// leaves a stale lock behind. The file holds the holder's pid and start time, for
/// the message a second run prints.
///
/// A `flock` belongs to the open file, and a child process shares its parent's open
/// files from `fork` until `exec` closes them (`O_CLOEXEC`). So for a moment after a
/// lock is released, a child that this process was starting on another thread may
/// still hold it. When the file names this process as the holder and this process
/// holds no lock on it, the lock is such a child's, and the open waits for it
/// (a few milliseconds; ``childGraceSeconds`` at most) rather than refuse.
package final class SpoolLock {
    private let descriptor: FileDescriptor
    private let file: FileKey

    /// How long an open waits for a child of this process to let go of a lock this
    /// process released.
    package static let childGraceSeconds = 10.0

    /// A file by device and inode, whatever the path that named it.
    private struct FileKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    /// The lock files this process holds a lock on.
    private static let heldHere = ConditionLock<Set<FileKey>>([])

    /// - Parameters:
    ///   - holderName: the command that holds this lock, for the refusal message.
    ///   - pause: how the open waits between tries while a starting child holds the lock
    ///     (a test passes one that lets the child's lock go).
    package init(
        path: String, spool: String, holderName: String = "run",
        pause: (_ seconds: Double) -> Void = { pauseThread(seconds: $0) }
    ) throws(SpoolError) {
        let file: FileDescriptor
        do { file = try .create(path, for: .readingAndWriting, truncating: false) } catch {
            throw .cannotCreate(path: path, error: error)
        }
        let key: FileKey
        let isLocked: Bool
        do {
            let status = try file.status()
            key = FileKey(device: status.device, inode: status.inode)
            isLocked = try Self.lock(file, key: key, pause: pause)
        } catch {
            file.close()
            throw .cannotWrite(path: path, error: error)
        }
        guard isLocked else {
            let holder = Self.holder(file)
            file.close()
            throw .inUse(path: spool, command: holderName, holder: holder.text)
        }
        descriptor = file
        self.file = key
        // Best effort: the text only names the holder in another run's refusal.
        let text = Array("process \(CurrentProcess.id), started \(Timestamp.now.isoString)\n".utf8)
        try? file.truncate(to: 0)
        _ = text.withUnsafeBytes { try? file.writeAll($0, at: 0) }
    }

    deinit {
        // Forgotten before the lock goes, so that no open in this process sees the lock
        // free while the set still names it.
        Self.heldHere.withLock { _ = $0.remove(file) }
        descriptor.close()  // releases the lock
    }

    /// Takes the lock on `file`, waiting while only a child of this process holds it:
    /// false when another process, or another open in this one, holds it.
    private static func lock(
        _ file: FileDescriptor, key: FileKey, pause: (Double) -> Void
    ) throws(SystemError) -> Bool {
        let deadline = MonotonicClock.now + childGraceSeconds
        while true {
            if try file.tryLockExclusively() {
                heldHere.withLock { _ = $0.insert(key) }
                return true
            }
            let isOurs = holder(file).process == CurrentProcess.id
            let isHeldHere = heldHere.withLock { $0.contains(key) }
            guard isOurs && !isHeldHere && MonotonicClock.now < deadline else { return false }
            pause(0.005)
        }
    }

    /// What the lock file says of its holder: its text, and the process it names.
    private static func holder(_ file: FileDescriptor) -> (text: String, process: Int32?) {
        var buffer = [UInt8](repeating: 0, count: 200)
        let n = buffer.withUnsafeMutableBytes { (try? file.read(into: $0, at: 0)) ?? 0 }
        let text = n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : ""
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        let process = line.split(separator: ",").first.flatMap { field in
            field.hasPrefix("process ") ? Int32(field.dropFirst("process ".count)) : nil
        }
        return (line.isEmpty ? "holder unknown" : line, process)
    }
}
