import NudgeCore

/// One HTTP request replay sends.
public struct OutgoingRequest: Sendable, Equatable {
    /// `PUT` for an identify, `POST` for a batch of tracks.
    public var method: String
    /// `{endpoint}/identify` or `{endpoint}/events/batch`.
    public var url: String
    /// Header names and values, the API key included (``redactedHeaders`` hides it).
    public var headers: [(name: String, value: String)]
    /// The JSON body: one identify's body, or an array of track bodies.
    public var body: [UInt8]
    /// Records the body carries.
    package var records: Int

    package init(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8], records: Int) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.records = records
    }

    /// The HTTP request for a scheduled delivery of `records` (those `request` carries,
    /// in its order): `PUT {endpoint}/identify` with one body, or
    /// `POST {endpoint}/events/batch` with an array of bodies. Its idempotency key
    /// depends only on the records it carries, so every attempt and every replay of
    /// the same records carries the same key.
    package init(_ request: DeliveryRequest, carrying records: [AcceptedRecord], configuration: ReplayConfiguration) {
        var body: [UInt8] = []
        if request.kind == .identify {
            body = records.first?.body ?? []
        } else {
            body.reserveCapacity(records.reduce(2) { $0 + $1.body.count + 1 })
            body.append(0x5B)
            for (i, record) in records.enumerated() {
                if i > 0 { body.append(0x2C) }
                body += record.body
            }
            body.append(0x5D)
        }
        var hasher = ContentHasher()
        for record in records {
            var id = record.messageID ?? "spool:\(record.commit):\(record.line)"
            id += "\n"
            id.withUTF8 { hasher.update(UnsafeRawBufferPointer($0)) }
        }
        let key = hasher.hexDigest
        let endpoint = configuration.endpoint
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.init(
            method: request.kind == .identify ? "PUT" : "POST",
            url: base + (request.kind == .identify ? "/identify" : "/events/batch"),
            headers: [("apikey", configuration.apiKey), ("p", "17"), ("Content-Type", "application/json"),
                      ("Idempotency-Key", key), ("idempotent-key", key),
                      ("User-Agent", "nudge-ingest/\(NudgeIngestVersion.current)")],
            body: body, records: request.sequences.count)
    }

    /// The headers with the API key's value replaced, for anything a person sees.
    package var redactedHeaders: [(name: String, value: String)] {
        headers.map { $0.name == "apikey" ? ($0.name, "[redacted]") : $0 }
    }

    /// Whether both are the same request: method, URL, headers in order, body and records.
    public static func == (lhs: OutgoingRequest, rhs: OutgoingRequest) -> Bool {
        lhs.method == rhs.method && lhs.url == rhs.url && lhs.body == rhs.body && lhs.records == rhs.records
            && lhs.headers.elementsEqual(rhs.headers) { $0.name == $1.name && $0.value == $1.value }
    }
}
