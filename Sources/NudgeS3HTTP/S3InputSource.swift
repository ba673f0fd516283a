// With the package's HTTP trait, as the client (Package.swift).
#if HTTP
import Dispatch
import NIOCore
import NudgeIngest
import NudgeS3
import NudgeSystem
import Synchronization

/// `run`'s `s3://` inputs, read through an ``S3HTTPClient``: listings become inputs, and
/// each object is streamed to the reading thread that inflates it.
///
/// The run's reading threads block; the client is async. Each object's download runs
/// as a task that hands its pieces to an ``S3ObjectStream``, which holds at most
/// `bufferedBytes` of them: when the reading thread falls behind, the download waits
/// (async-http-client then stops reading the socket), so memory stays bounded however
/// large the object and however many are read at once.
package final class S3InputSource: RemoteInputSource {
    package let client: S3HTTPClient
    /// How many bytes of one object may wait for its reading thread.
    package let bufferedBytes: Int
    package let policy: S3RetryPolicy

    package init(configuration: AWSConfiguration, bufferedBytes: Int = 1 << 20,
                policy: S3RetryPolicy = S3RetryPolicy(), timeoutSeconds: Double = 30) {
        client = S3HTTPClient(configuration: configuration, timeoutSeconds: timeoutSeconds)
        self.bufferedBytes = bufferedBytes
        self.policy = policy
    }

    /// Closes the client's connections, waiting for it; call once the run is over.
    package func shutdown() {
        _ = waitFor { [client] () async throws(S3Error) in await client.shutdown() }
    }

    package var requestCounts: RemoteRequestCounts { client.requestCounts }

    package func names(_ argument: String) -> Bool {
        argument.hasPrefix("s3://")
    }

    package func list(_ argument: String) throws(RemoteReadError) -> RemoteListing {
        guard let location = S3Location(argument) else {
            throw RemoteReadError(message: "\(argument): not an S3 location; write s3://BUCKET/KEY or s3://BUCKET/PREFIX/")
        }
        let listed = waitFor { [client, policy] () async throws(S3Error) in
            try await client.walk(location, policy: policy)
        }
        let (objects, folder): ([S3ObjectListing.Object], String?)
        switch listed {
        case .success(let found): (objects, folder) = found
        case .failure(let error): throw RemoteReadError(message: error.description)
        }
        let inputs = objects.map {
            RemoteObject(url: S3Location(bucket: location.bucket, key: $0.key).description, size: $0.size, etag: $0.etag)
        }
        // A full key is one object, named; anything else was walked below a folder.
        return RemoteListing(objects: inputs, relativePaths: objects.map { object in
            folder.map { String(object.key.utf8.dropFirst($0.utf8.count))! }
        })
    }

    package func open(_ object: RemoteObject) -> any RemoteByteStream {
        guard let location = S3Location(object.url), !location.key.isEmpty else {
            return S3ObjectStream(failed: RemoteReadError(message: "\(object.url): not an S3 object"))
        }
        let listed = S3ObjectListing.Object(key: location.key, size: object.size, etag: object.etag)
        return S3ObjectStream(client: client, object: listed, bucket: location.bucket, policy: policy,
                              bufferedBytes: bufferedBytes)
    }

    /// Runs `work` as a task and waits for it on this thread (never a task's: the run's
    /// threads are its own).
    private func waitFor<T: Sendable>(_ work: @escaping @Sendable () async throws(S3Error) -> T) -> Result<T, S3Error> {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<T, S3Error>?>(nil)
        Task {
            let outcome: Result<T, S3Error>
            do throws(S3Error) { outcome = .success(try await work()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }
}

/// One object's bytes on their way from its download task to the thread that reads
/// them: a queue of the pieces received, which the download fills up to a limit and
/// then waits on, and the reading thread empties, waiting when it is empty.
final class S3ObjectStream: RemoteByteStream, @unchecked Sendable {
    // @unchecked Sendable: every mutable property is read and written only while
    // `lock` is held.
    private let lock = WaitLock(conditions: 1)
    private static let piecesChanged = 0
    private var pieces: [NIOCore.ByteBuffer] = []
    /// The first piece not read to its end.
    private var head = 0
    private var queuedBytes = 0
    private let bufferedBytes: Int
    /// How the download ended, once it has.
    private var ended: Result<Void, RemoteReadError>?
    private var closed = false
    /// The download, waiting for room.
    private var waitingForRoom: CheckedContinuation<Void, Never>?
    private var download: Task<Void, Never>?

    init(client: S3HTTPClient, object: S3ObjectListing.Object, bucket: String, policy: S3RetryPolicy,
         bufferedBytes: Int) {
        self.bufferedBytes = max(bufferedBytes, 1)
        download = Task { [self] in
            let outcome: Result<Void, RemoteReadError>
            do {
                _ = try await client.read(object, in: bucket, policy: policy) { piece in try await self.receive(piece) }
                outcome = .success(())
            } catch let error as S3Error {
                outcome = .failure(RemoteReadError(message: error.description))
            } catch {
                outcome = .failure(RemoteReadError(
                    message: "\(S3Location(bucket: bucket, key: object.key)): \(error)"))
            }
            lock.lock()
            ended = outcome
            lock.signal(Self.piecesChanged)
            lock.unlock()
        }
    }

    /// A stream that fails at its first read.
    init(failed: RemoteReadError) {
        bufferedBytes = 1
        ended = .failure(failed)
    }

    /// Queues a piece of the download, then waits while the queue is full.
    private func receive(_ piece: NIOCore.ByteBuffer) async throws {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            guard !closed else {
                lock.unlock()
                continuation.resume()
                return
            }
            pieces.append(piece)
            queuedBytes += piece.readableBytes
            lock.signal(Self.piecesChanged)
            if queuedBytes >= bufferedBytes {
                waitingForRoom = continuation
                lock.unlock()
            } else {
                lock.unlock()
                continuation.resume()
            }
        }
        if isClosed { throw CancellationError() }
    }

    private var isClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return closed
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(RemoteReadError) -> Int {
        guard buffer.count > 0 else { return 0 }
        lock.lock()
        while head == pieces.count && ended == nil { lock.wait(Self.piecesChanged) }
        guard head < pieces.count else {
            let end = ended!
            lock.unlock()
            switch end {
            case .success: return 0
            case .failure(let error): throw error
            }
        }
        let count = min(buffer.count, pieces[head].readableBytes)
        pieces[head].withUnsafeReadableBytes { bytes in
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: count)
        }
        pieces[head].moveReaderIndex(forwardBy: count)
        if pieces[head].readableBytes == 0 {
            pieces[head] = NIOCore.ByteBuffer()
            head += 1
            if head == pieces.count || head >= 64 {
                pieces.removeFirst(head)
                head = 0
            }
        }
        queuedBytes -= count
        var room: CheckedContinuation<Void, Never>?
        if queuedBytes < bufferedBytes { swap(&room, &waitingForRoom) }
        lock.unlock()
        room?.resume()
        return count
    }

    func close() {
        lock.lock()
        closed = true
        pieces = []
        head = 0
        queuedBytes = 0
        var room: CheckedContinuation<Void, Never>?
        swap(&room, &waitingForRoom)
        let download = download
        lock.unlock()
        room?.resume()
        download?.cancel()
    }

    deinit {
        download?.cancel()
    }
}
#endif
