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
