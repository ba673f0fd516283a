import NudgeSpool
import NudgeSystem

/// The files one replay reads and writes: the accepted spool's reader, and the store
/// (the checkpoint and the rejected spool; none on a dry run, which saves nothing).
/// Every method blocks on file I/O, so the shell calls them through
/// ``onFileThread(_:)``, never on Swift's shared async threads.
///
/// `@unchecked Sendable`: one thread at a time touches it. The shell awaits each
/// operation before it starts the next, and the hop to the file thread and back is a
/// continuation, which orders everything before it on one thread before everything
/// after it on the other.
final class ReplayFiles: @unchecked Sendable {
    private var reader: AcceptedSpoolReader
    private var store: ReplayStore?

    init(reader: AcceptedSpoolReader, store: ReplayStore?) {
        self.reader = reader
        self.store = store
    }

    /// Whether the replay's progress is written (not on a dry run).
    var keepsProgress: Bool { store != nil }

    /// Up to `count` records that `wanted` holds, in spool order (the others are passed
    /// over without parsing); `atEnd` when the committed spool has no more.
    func read(upTo count: Int, wanted: WantedRecords) throws(ReplayError) -> (records: [AcceptedRecord], atEnd: Bool) {
        var batch: [AcceptedRecord] = []
        batch.reserveCapacity(count)
        do throws(SpoolReadError) {
            while batch.count < count, let next = try reader.next(where: wanted.contains) {
                batch.append(next)
            }
        } catch {
            throw .reading(error)
        }
        return (batch, batch.count < count)
    }

    /// Closes the store, which gives up the spool's replay lock. Called by the run when
    /// it is over: the file threads may hold on to this object a moment longer, and the
    /// next replay of the spool must find the lock free as soon as this one returns.
    func close() {
        store = nil
    }

    func appendRejected(_ lines: [UInt8]) throws(ReplayError) {
        do throws(SpoolError) { try store?.appendRejected(lines) } catch { throw .spool(error) }
    }

    func save(_ checkpoint: ReplayCheckpoint) throws(ReplayError) {
        do throws(SpoolError) { try store?.save(checkpoint) } catch { throw .spool(error) }
    }
}

/// Runs blocking file work (reads, writes, fsyncs) on a thread of its own and waits
/// for it without holding one of Swift's shared async threads: that pool has one
/// thread per core, and an fsync there stalls every task queued behind it, the answers
/// of the requests in flight among them.
///
/// A new thread per call (``startThread(named:_:)``), not NIO's `NIOThreadPool`:
/// NudgeIngest builds without SwiftNIO (the fuzz targets and the build without the
/// HTTP trait), and replay's file work comes in few, large pieces (a read per 4,096
/// records, a checkpoint at most every 200 ms, a rejected append per judged request),
/// beside which a thread's start is small. This is the one place to re-point should a
/// shared blocking pool come to the system module.
func onFileThread<T: Sendable, Failure: Error>(
    _ work: @escaping @Sendable () throws(Failure) -> T
) async throws(Failure) -> T {
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, Failure>, Never>) in
        startThread(named: "replay-files") {
            do throws(Failure) {
                continuation.resume(returning: .success(try work()))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
    }
    return try result.get()
}
