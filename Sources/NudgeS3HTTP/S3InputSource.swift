// With the package's HTTP trait, as the client (Package.swift).
#if HTTP
import NIOCore
import NudgeIngest
import NudgeS3
import NudgeSystem

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
    /// threads are its own); the task hands its outcome over through a queue of one.
    private func waitFor<T: Sendable>(_ work: @escaping @Sendable () async throws(S3Error) -> T) -> Result<T, S3Error> {
        let outcome = BoundedQueue<Result<T, S3Error>, Never>(capacity: 1)
        Task {
            let result: Result<T, S3Error>
            do throws(S3Error) { result = .success(try await work()) } catch { result = .failure(error) }
            // Never refused: the queue is neither full nor ended.
            try? await outcome.push(result)
        }
        return outcome.pop()!
    }
}

/// One object's bytes on their way from its download task to the thread that reads
/// them, through a ``BoundedQueue`` of the pieces received: the download pushes them
/// and waits (suspended) while `bufferedBytes` of them are queued; the reading thread
/// pops them, waiting while none is, and copies each out as far as it is asked to.
/// The piece being copied out no longer counts: at most `bufferedBytes` plus two pieces
/// are held.
final class S3ObjectStream: RemoteByteStream {
    private let pieces: BoundedQueue<ByteBuffer, RemoteReadError>
    /// The piece the reading thread copies out of (only that thread touches it).
    private var current = ByteBuffer()
    private let download: Task<Void, Never>?

    init(client: S3HTTPClient, object: S3ObjectListing.Object, bucket: String, policy: S3RetryPolicy,
         bufferedBytes: Int) {
        let pieces = BoundedQueue<ByteBuffer, RemoteReadError>(capacity: max(bufferedBytes, 1)) {
            $0.readableBytes
        }
        self.pieces = pieces
        download = Task {
            do {
                _ = try await client.read(object, in: bucket, policy: policy) { piece in
                    do {
                        try await pieces.push(piece)
                    } catch {
                        throw CancellationError()  // closed: the reading thread let the object go
                    }
                }
                pieces.finish()
            } catch let error as S3Error {
                pieces.finish(throwing: RemoteReadError(message: error.description))
            } catch {
                pieces.finish(throwing: RemoteReadError(
                    message: "\(S3Location(bucket: bucket, key: object.key)): \(error)"))
            }
        }
    }

    /// A stream that fails at its first read.
    init(failed: RemoteReadError) {
        pieces = BoundedQueue(capacity: 1)
        pieces.finish(throwing: failed)
        download = nil
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(RemoteReadError) -> Int {
        guard buffer.count > 0 else { return 0 }
        while current.readableBytes == 0 {
            guard let next = try pieces.pop() else { return 0 }
            current = next
        }
        let count = min(buffer.count, current.readableBytes)
        current.withUnsafeReadableBytes { bytes in
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: count)
        }
        current.moveReaderIndex(forwardBy: count)
        return count
    }

    func close() {
        pieces.close()
        current = ByteBuffer()
        download?.cancel()
    }

    deinit {
        download?.cancel()
    }
}
#endif
