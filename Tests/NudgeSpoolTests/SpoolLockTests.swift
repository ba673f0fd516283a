import Foundation
import Glibc
import NudgeTestSupport
import Testing
@testable import NudgeSpool
@testable import NudgeSystem

/// The spool's lock: one user at a time, and no refusal because a child process that
/// this process was starting still shared the lock a run had just let go.
@Suite struct SpoolLockTests {
    /// Holds an exclusive `flock` on `path` through an open file of its own, with
    /// `holder` as the file's text: what a child inherits, or another process holds.
    func holdLock(_ path: String, holder: String) throws -> Int32 {
        let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        try #require(descriptor >= 0)
        try #require(flock(descriptor, LOCK_EX | LOCK_NB) == 0)
        _ = ftruncate(descriptor, 0)
        _ = Array(holder.utf8).withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return descriptor
    }

    /// For an open that must be refused at once, without waiting for a child.
    static func neverPauses(_: Double) { Issue.record("the open waited instead of refusing at once") }

    func refusal(_ body: () throws(SpoolError) -> Void) -> String? {
        do { try body() } catch { if case .inUse = error { return error.description } }
        return nil
    }

    @Test func aSecondOpenInThisProcessIsRefusedAtOnce() throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("lock").path
            let first = try SpoolLock(path: path, spool: "S")
            let refused = refusal { () throws(SpoolError) in
                _ = try SpoolLock(path: path, spool: "S", holderName: "replay", pause: Self.neverPauses)
            }
            #expect(refused?.contains("spool S is in use by another nudge-ingest replay (process \(getpid()), started ")
                    == true, "\(refused ?? "not refused")")
            withExtendedLifetime(first) {}
            // Let go, it can be taken again at once.
        }
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("lock").path
            do { _ = try SpoolLock(path: path, spool: "S") }
            _ = try SpoolLock(path: path, spool: "S")
        }
    }

    @Test func anotherProcesssLockIsRefusedAtOnceAndNamed() throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("lock").path
            let other = try holdLock(path, holder: "process 1, started 2026-01-02T03:04:05.000Z\n")
            defer { close(other) }
            let refused = refusal { () throws(SpoolError) in _ = try SpoolLock(path: path, spool: "S", pause: Self.neverPauses) }
            #expect(refused == "spool S is in use by another nudge-ingest run (process 1, started 2026-01-02T03:04:05.000Z); "
                    + "wait for it to finish, or use another --spool.")
        }
    }

    /// The flake that CI met: a run let its lock go while another thread of the same
    /// process was starting a child, which held a copy of the lock until its `exec`.
    /// The open waits (its pause lets the child's copy go) instead of refusing.
    @Test func aLockOnlyAStartingChildStillSharesIsWaitedFor() throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("lock").path
            do { _ = try SpoolLock(path: path, spool: "S") }  // this process held it, and let go
            var child: Int32? = try holdLock(path, holder: "process \(getpid()), started 2026-01-02T03:04:05.000Z\n")
            var pauses = 0
            let lock = try SpoolLock(path: path, spool: "S", pause: { _ in
                pauses += 1
                if pauses == 3, let held = child {  // the child reaches its exec
                    close(held)
                    child = nil
                }
            })
            #expect(pauses == 3 && child == nil)
            withExtendedLifetime(lock) {}
        }
    }
}
