import NudgeCore
import NudgeSystem
import Synchronization

/// One input a commit processed, as the ledger records it.
package struct LedgerInput: Sendable, Equatable {
    /// The path as given (`source.file` of its records); `-` for standard input.
    package var path: String
    /// The absolute path it was read from (nil for standard input): what a later run
    /// matches its inputs against.
    package var absolutePath: String?
    /// Bytes read (compressed bytes for gzip).
    package var size: Int
    /// ``ContentHasher`` digest of those bytes.
    package var fingerprint: String
    /// For an object in S3 (`absolutePath` its `s3://` URL): the version read, as
    /// S3's ETag. A later run that lists another ETag under the URL finds it changed.
    package var etag: String?
    package var format: InputFormat
    package var records: Int
    package var accepted: Int
    package var dropped: Int
    package var status: InputSummary.Status

    package init(path: String, absolutePath: String? = nil, size: Int, fingerprint: String, etag: String? = nil, format: InputFormat, records: Int, accepted: Int, dropped: Int, status: InputSummary.Status) {
        self.path = path
        self.absolutePath = absolutePath
        self.size = size
        self.fingerprint = fingerprint
        self.etag = etag
        self.format = format
        self.records = records
        self.accepted = accepted
        self.dropped = dropped
        self.status = status
    }
}
