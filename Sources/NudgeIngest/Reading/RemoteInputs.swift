import NudgeCore
import NudgeSystem

/// An object of a remote store (an S3 bucket) that a run reads as one input.
package struct RemoteObject: Sendable, Equatable {
    /// `s3://BUCKET/KEY`: the input's `source.file`, and what the ledger knows it by.
    package var url: String
    /// The size the listing gave: what progress counts against.
    package var size: Int
    /// The version listed (S3's ETag, quotes included). A committed object whose ETag
    /// differs now has changed.
    package var etag: String

    package init(url: String, size: Int, etag: String) {
        self.url = url
        self.size = size
        self.etag = etag
    }
}

/// Why a remote input could not be read: the store refused it, could not be reached
/// after the retries, or the object changed while it was read. Not a fault of the
/// input's bytes, so the run stops with the input uncommitted and the same command
/// continues from it.
package struct RemoteReadError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String

    package init(message: String) {
        self.message = message
    }

    package var description: String { message }
}

/// One remote object's bytes, from its start, read as they arrive.
package protocol RemoteByteStream: AnyObject {
    /// Fills the start of `buffer` with the next bytes, waiting for them; returns how
    /// many, 0 at the object's end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(RemoteReadError) -> Int
    /// Lets the object go (a read abandoned before its end stops fetching).
    func close()
}

/// What a remote location named on the command line holds, in reading order.
package struct RemoteListing: Sendable {
    /// The objects, in bytewise key order.
    package var objects: [RemoteObject]
    /// Each object's path below the location when it was walked as a folder (what
    /// `--include`, `--exclude` and the hidden-name rule look at); nil for an object
    /// named by its full key, which is always read.
    package var relativePaths: [String?]

    package init(objects: [RemoteObject], relativePaths: [String?]) {
        self.objects = objects
        self.relativePaths = relativePaths
    }
}

/// What a run asked of the remote store, for its summary: how often the network failed
/// and was got round.
package struct RemoteRequestCounts: Sendable, Equatable {
    /// Requests sent: listing pages and object reads, every attempt counted.
    package var requests = 0
    /// Attempts after a failure (a 500, a 503 SlowDown, a dropped connection).
    package var retries = 0
    /// Of those, object reads resumed from the last byte received (a ranged GET).
    package var resumes = 0
    /// Object bytes received.
    package var bytes = 0

    package init(requests: Int = 0, retries: Int = 0, resumes: Int = 0, bytes: Int = 0) {
        (self.requests, self.retries, self.resumes, self.bytes) = (requests, retries, resumes, bytes)
    }
}

/// Where a run reads `s3://` inputs from: handed in by the front end (the command line
/// builds one over HTTP), so that the library itself builds without the network.
package protocol RemoteInputSource: Sendable {
    /// What was asked of the store so far.
    var requestCounts: RemoteRequestCounts { get }
    /// Whether `argument` names a location of this store (`s3://…`).
    func names(_ argument: String) -> Bool
    /// The objects `location` names: one for a full key, every object below it for a
    /// prefix ending in `/` (or a name that is a folder). A failure (no such bucket,
    /// credentials refused) is the run's, before anything is read.
    func list(_ location: String) throws(RemoteReadError) -> RemoteListing
    /// `object`'s bytes from its start.
    func open(_ object: RemoteObject) -> any RemoteByteStream
}

/// An input opened for reading: a file (or standard input), or a remote object.
enum OpenedInput {
    case file(FileDescriptor, closes: Bool)
    case remote(any RemoteByteStream)

    /// What failed: a file that could not be read (a fault of that input), or a remote
    /// store (the run stops there).
    enum Failure: Error {
        case file(String)
        case remote(RemoteReadError)
    }

    static func open(_ input: InputFile, remote: (any RemoteInputSource)?) throws(Failure) -> OpenedInput {
        if let object = input.remote {
            guard let remote else {
                throw .remote(RemoteReadError(message: "\(object.url): this run has no way to read S3 inputs"))
            }
            return .remote(remote.open(object))
        }
        if let reason = input.unreadableReason { throw .file(reason) }
        if input.isStandardInput { return .file(.standardInput, closes: false) }
        do { return .file(try .open(input, for: .reading), closes: true) } catch { throw .file(error.description) }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(Failure) -> Int {
        switch self {
        case .file(let file, _):
            do { return try file.read(into: buffer) } catch { throw .file(error.description) }
        case .remote(let stream):
            do { return try stream.read(into: buffer) } catch { throw .remote(error) }
        }
    }

    func close() {
        switch self {
        case .file(let file, let closes): if closes { file.close() }
        case .remote(let stream): stream.close()
        }
    }
}
