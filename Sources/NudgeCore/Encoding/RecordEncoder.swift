/// Where records came from: the input's path as the spool records it.
package struct SourceFile: Sendable {
    /// The path as reached from the command-line argument; `-` for standard input.
    package let path: String
    /// `{"file":"<path>","line":` ready to copy into every record.
    let jsonPrefix: [UInt8]

    package init(path: String) {
        self.path = path
        var prefix = OutputBuffer(capacity: path.utf8.count * 6 + 32)
        prefix.append("{\"file\":")
        Array(path.utf8).withUnsafeBytes { JSONOutput.appendStringRepairingUTF8($0, to: &prefix) }
        prefix.append(",\"line\":")
        jsonPrefix = prefix.bytes
    }
}

/// Encodes spool records, one NDJSON line each, in the fields `schemas/` describes.
package struct RecordEncoder {

    private var props = PropsEncoder()

    /// An accepted identify: the exact Nudge body plus provenance. Returns where the
    /// body lies in `out`.
    @discardableResult
    mutating func appendIdentify(
        extID: UnsafeRawBufferPointer, line: UnsafeRawBufferPointer, lineNumber: Int, scanned: ScannedEvent,
        source: SourceFile, to out: inout OutputBuffer
    ) -> Range<Int> {
        out.append("{\"kind\":\"identify\",\"body\":")
        let bodyStart = out.count
        out.append("{\"ext_id\":")
        JSONOutput.appendString(extID, to: &out)
        appendStringField(",\"name\":", scanned.traitsName, line, to: &out)
        appendStringField(",\"email\":", scanned.traitsEmail, line, to: &out)
        appendStringField(",\"phone\":", scanned.traitsPhone, line, to: &out)
        if scanned.contextTimezone.kind == .string {
            out.append(",\"tz\":")
            out.append(scanned.contextTimezone.text(in: line))
        }
        out.append(",\"props\":")
        props.append(scanned.traits, in: line, droppingIdentityTraits: true, to: &out)
        out.append(0x7D)
        let body = bodyStart..<out.count
        out.append(",\"message_id\":")
        appendOptionalString(scanned.messageId, line, to: &out)
        appendSource(source, lineNumber, to: &out)
        out.append(",\"resolved_via\":null}\n")
        return body
    }

    /// An accepted track is written in three parts, because its `ext_id` and
    /// `resolved_via` may come from the identity state: the head (up to its `ext_id`),
    /// the tail (from `occurred_at` up to its `resolved_via`), then
    /// ``appendTrack(head:tail:extID:resolvedVia:body:to:)``. The head returns where the
    /// body starts in `out`, the tail where it ends.
    func appendTrackHead(name: UnsafeRawBufferPointer, to out: inout OutputBuffer) -> Int {
        out.append("{\"kind\":\"track\",\"body\":")
        let bodyStart = out.count
        out.append("{\"name\":")
        JSONOutput.appendString(name, to: &out)
        out.append(",\"ext_id\":")
        return bodyStart
    }

    mutating func appendTrackTail(
        occurredAt: UnsafeRawBufferPointer, line: UnsafeRawBufferPointer, lineNumber: Int, scanned: ScannedEvent,
        source: SourceFile, to out: inout OutputBuffer
    ) -> Int {
        out.append(",\"occurred_at\":\"")
        out.append(occurredAt)
        out.append("\",\"props\":")
        props.append(scanned.properties, in: line, to: &out)
        out.append(0x7D)
        let bodyEnd = out.count
        out.append(",\"message_id\":")
        appendOptionalString(scanned.messageId, line, to: &out)
        appendSource(source, lineNumber, to: &out)
        out.append(",\"resolved_via\":")
        return bodyEnd
    }

    /// Writes a track record from its pre-encoded `head` and `tail` around its `ext_id`,
    /// ending with its `resolved_via`. `body` is where the body lies in `head` and `tail`
    /// one after the other (without the `ext_id`); returns where it lies in `out`.
    @discardableResult
    static func appendTrack(
        head: UnsafeRawBufferPointer, tail: UnsafeRawBufferPointer, extID: UnsafeRawBufferPointer,
        resolvedVia: LinkOrigin?, body: Range<Int>, to out: inout OutputBuffer
    ) -> Range<Int> {
        let start = out.count
        out.append(head)
        JSONOutput.appendString(extID, to: &out)
        let extIDLength = out.count - start - head.count
        out.append(tail)
        if let resolvedVia {
            out.append(0x22)
            out.append(utf8: resolvedVia.code)
            out.append("\"}\n")
        } else {
            out.append("null}\n")
        }
        return (start + body.lowerBound)..<(start + body.upperBound + extIDLength)
    }

    /// A dropped record. `labels` is `nil` when the line was not a JSON object. Returns
    /// where its `detail`, a JSON string, lies in `out`.
    @discardableResult
    func appendDropped(
        _ reason: ReasonCode, detail: UnsafeRawBufferPointer, line: FramedLine, labels: RecordLabels?,
        source: SourceFile, to out: inout OutputBuffer
    ) -> Range<Int> {
        out.append("{\"reason\":\"")
        out.append(utf8: reason.rawValue)
        out.append("\",\"detail\":")
        let detailStart = out.count
        JSONOutput.appendStringRepairingUTF8(detail, to: &out)
        let detailRange = detailStart..<out.count
        appendSource(source, line.number, to: &out)
        let bytes = line.bytes
        out.append(",\"type\":")
        appendOptionalString(labels?.type ?? .absent, bytes, to: &out)
        out.append(",\"event\":")
        appendOptionalString(labels?.event ?? .absent, bytes, to: &out)
        out.append(",\"message_id\":")
        appendOptionalString(labels?.messageId ?? .absent, bytes, to: &out)
        // A line the scanner passed is valid UTF-8 and needs no repair.
        appendRaw(bytes, fullLength: line.length, cut: reason == .lineTooLong, isValidUTF8: labels != nil, to: &out)
        return detailRange
    }

    /// A `corrupt_input` entry: a fault, not a record.
    func appendFault(
        detail: String, source: SourceFile, line: Int, offset: Int, fragment: [UInt8], fragmentLength: Int,
        to out: inout OutputBuffer
    ) {
        out.append("{\"reason\":\"corrupt_input\",\"detail\":")
        JSONOutput.appendString(detail, to: &out)
        out.append(",\"source\":")
        out.append(source.jsonPrefix)
        JSONOutput.appendDecimal(line, to: &out)
        out.append(",\"offset\":")
        JSONOutput.appendDecimal(offset, to: &out)
        out.append("},\"type\":null,\"event\":null,\"message_id\":null")
        fragment.withUnsafeBytes {
            appendRaw($0, fullLength: fragmentLength, cut: true, isValidUTF8: false, to: &out)
        }
    }

    private func appendRaw(
        _ bytes: UnsafeRawBufferPointer, fullLength: Int, cut: Bool, isValidUTF8: Bool, to out: inout OutputBuffer
    ) {
        let kept = UnsafeRawBufferPointer(rebasing: bytes[..<(cut ? Self.rawPrefixLength(bytes) : bytes.count)])
        out.append(",\"raw\":")
        if isValidUTF8 {
            JSONOutput.appendString(kept, to: &out)
        } else {
            JSONOutput.appendStringRepairingUTF8(kept, to: &out)
        }
        out.append(",\"raw_truncated\":")
        if kept.count < fullLength {
            out.append("true}\n")
        } else {
            out.append("false}\n")
        }
    }

    /// How many leading bytes of `bytes` make a `raw` of at most `RecordLimits.rawBytes` bytes once
    /// repaired (each ill-formed subpart becomes the 3-byte U+FFFD), never splitting a
    /// character.
    static func rawPrefixLength(_ bytes: UnsafeRawBufferPointer) -> Int {
        var index = 0
        var written = 0
        while index < bytes.count {
            let unit: (length: Int, isComplete: Bool) = bytes[index] < 0x80
                ? (1, true) : JSONBytes.utf8Sequence(bytes, at: index)
            let size = unit.isComplete ? unit.length : 3
            if written + size > RecordLimits.rawBytes { break }
            written += size
            index += unit.length
        }
        return index
    }

    private func appendSource(_ source: SourceFile, _ line: Int, to out: inout OutputBuffer) {
        out.append(",\"source\":")
        out.append(source.jsonPrefix)
        JSONOutput.appendDecimal(line, to: &out)
        out.append(0x7D)
    }

    /// A string value copied as it came, or `null` when absent or not a string.
    private func appendOptionalString(_ span: JSONSpan, _ line: UnsafeRawBufferPointer, to out: inout OutputBuffer) {
        if span.kind == .string {
            out.append(span.text(in: line))
        } else {
            out.append("null")
        }
    }

    /// `name`, `email`, `phone`: a string as it came, a number as its JSON text in quotes.
    private func appendStringField(
        _ key: StaticString, _ span: JSONSpan, _ line: UnsafeRawBufferPointer, to out: inout OutputBuffer
    ) {
        switch span.kind {
        case .string:
            out.append(key)
            out.append(span.text(in: line))
        case .number:
            out.append(key)
            out.append(0x22)
            out.append(span.text(in: line))
            out.append(0x22)
        default:
            break
        }
    }
}
