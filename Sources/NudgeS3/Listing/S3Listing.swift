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

/// An S3 error answer: `<Error><Code>…</Code><Message>…</Message>…</Error>`.
package struct S3ErrorResponse: Sendable, Equatable {
    /// `NoSuchBucket`, `NoSuchKey`, `AccessDenied`, `SignatureDoesNotMatch`, `SlowDown`, …
    package var code: String
    package var message: String
    /// The region the bucket is in, when the request went to the wrong one
    /// (`AuthorizationHeaderMalformed`, `PermanentRedirect`'s `x-amz-bucket-region`).
    package var region: String?

    package init(code: String, message: String, region: String? = nil) {
        self.code = code
        self.message = message
        self.region = region
    }

    /// Reads an error document; nil when the body is not one.
    package init?(xml: [UInt8]) {
        let text = String(decoding: xml, as: UTF8.self)
        guard let error = XMLElements.first("Error", in: text), let code = XMLElements.first("Code", in: error) else {
            return nil
        }
        self.code = code
        message = XMLElements.first("Message", in: error) ?? ""
        region = XMLElements.first("Region", in: error)
    }
}

/// The few XML reads S3's answers need: the text of elements by name, entities decoded.
/// S3's answers are flat and machine-written; this is not a general XML parser.
enum XMLElements {
    /// The content of every `<name>…</name>` in `text`, in order.
    static func all(_ name: String, in text: String) -> [String] {
        var found: [String] = []
        var rest = text[...]
        while let element = next(name, in: rest) {
            found.append(decodeEntities(element.content))
            rest = rest[element.end...]
        }
        return found
    }

    /// The content of the first `<name>…</name>` in `text`.
    static func first(_ name: String, in text: String) -> String? {
        next(name, in: text[...]).map { decodeEntities($0.content) }
    }

    private static func next(_ name: String, in text: Substring) -> (content: Substring, end: Substring.Index)? {
        var searchFrom = text.startIndex
        while let open = text[searchFrom...].firstRange(of: "<" + name) {
            // `<Key>` or `<Key attr="…">`, not `<KeyCount>`.
            guard let close = text[open.upperBound...].firstIndex(of: ">") else { return nil }
            let between = text[open.upperBound..<close]
            guard between.isEmpty || between.first == " " else { searchFrom = open.upperBound; continue }
            if between.last == "/" { return ("", text.index(after: close)) }
            let contentStart = text.index(after: close)
            guard let end = text[contentStart...].firstRange(of: "</" + name + ">") else { return nil }
            return (text[contentStart..<end.lowerBound], end.upperBound)
        }
        return nil
    }

    /// `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;` and numeric references.
    static func decodeEntities(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var rest = text
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semicolon = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semicolon]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let number = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16)
                    : entity.hasPrefix("#") ? UInt32(entity.dropFirst(), radix: 10) : nil
                if let number, let scalar = Unicode.Scalar(number) {
                    out.unicodeScalars.append(scalar)
                } else {
                    out += rest[amp...semicolon]
                }
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return out + rest
    }
}
