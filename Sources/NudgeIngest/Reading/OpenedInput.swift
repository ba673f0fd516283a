import NudgeCore
import NudgeSystem

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
