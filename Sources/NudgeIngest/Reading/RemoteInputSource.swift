import NudgeCore
import NudgeSystem

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
