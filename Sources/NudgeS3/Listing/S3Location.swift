/// An input named `s3://BUCKET/PREFIX`: a prefix that ends in `/` (or is empty) is
/// walked like a folder, anything else is a full key or a key prefix.
package struct S3Location: Sendable, Equatable, CustomStringConvertible {
    package var bucket: String
    /// The key or key prefix, without a leading `/`.
    package var key: String

    package init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    /// Reads `s3://BUCKET` or `s3://BUCKET/KEY`; nil for anything else.
    package init?(_ text: String) {
        guard text.hasPrefix("s3://") else { return nil }
        let rest = text.dropFirst("s3://".count)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty, bucket.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) })
        else { return nil }
        self.bucket = String(bucket)
        key = String(rest.dropFirst(bucket.count + 1))
    }

    package var description: String { "s3://\(bucket)/\(key)" }
}
