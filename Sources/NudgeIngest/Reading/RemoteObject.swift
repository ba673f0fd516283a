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
