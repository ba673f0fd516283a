import Glibc
import NudgeCore
import NudgeSystem

/// An exclusive `flock` on `SPOOL/state/lock`, held while a run uses the spool. The
/// kernel releases it when the process ends, however it ends, so a killed run never
/// leaves a stale lock behind. The file holds the holder's pid and start time, for
/// the message a second run prints.
package final class SpoolLock {
    private let descriptor: Int32

    /// - Parameter holderName: the command that holds this lock, for the refusal message.
    package init(path: String, spool: String, holderName: String = "run") throws(SpoolError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .cannotCreate(path: path, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let holder = Self.holder(fd)
            close(fd)
            if code == EWOULDBLOCK { throw .inUse(path: spool, command: holderName, holder: holder) }
            throw .cannotWrite(path: path, errno: code)
        }
        descriptor = fd
        var text = "process \(getpid()), started \(Timestamp.now.isoString)\n"
        ftruncate(fd, 0)
        text.withUTF8 { _ = pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        close(descriptor)  // releases the lock
    }

    /// What the lock file says of its holder.
    private static func holder(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 200)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        let text = n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : ""
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        return line.isEmpty ? "holder unknown" : line
    }
}
