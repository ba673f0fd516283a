import NudgeCore
import NudgeSystem

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
