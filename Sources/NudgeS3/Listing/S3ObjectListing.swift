/// One page of a ListObjectsV2 answer, asked for with `encoding-type=url`.
package struct S3ObjectListing: Sendable, Equatable {
    /// An object as the listing names it.
    package struct Object: Sendable, Equatable {
        package var key: String
        package var size: Int
        /// The entity tag with its quotes, as S3 sends it (`"644be06d…"`).
        package var etag: String

        package init(key: String, size: Int, etag: String) {
            self.key = key
            self.size = size
            self.etag = etag
        }
    }

    package var objects: [Object]
    /// Whether more pages follow; ask again with ``nextContinuationToken``.
    package var isTruncated: Bool
    package var nextContinuationToken: String?

    /// Reads the XML of a `ListBucketResult`; nil when it is not one. Keys are URL-decoded
    /// (S3 was asked for `encoding-type=url`, so keys that XML cannot carry arrive intact).
    package init?(xml: [UInt8]) {
        let text = String(decoding: xml, as: UTF8.self)
        guard text.contains("<ListBucketResult") else { return nil }
        var objects: [Object] = []
        for contents in XMLElements.all("Contents", in: text) {
            guard let key = XMLElements.first("Key", in: contents),
                  let size = XMLElements.first("Size", in: contents).flatMap({ Int($0) }) else { return nil }
            objects.append(Object(key: URIEncoding.decode(key, plusAsSpace: true), size: size,
                                  etag: XMLElements.first("ETag", in: contents) ?? ""))
        }
        self.objects = objects
        isTruncated = XMLElements.first("IsTruncated", in: text) == "true"
        nextContinuationToken = XMLElements.first("NextContinuationToken", in: text)
    }
}
