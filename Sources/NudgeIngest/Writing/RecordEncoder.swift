/// Where records came from: the input's path as the spool records it.
public struct SourceFile: Sendable {
    /// The path as reached from the command-line argument; `-` for standard input.
    public let path: String
    /// `{"file":"<path>","line":` ready to copy into every record.
    let jsonPrefix: [UInt8]

    public init(path: String) {
        self.path = path
        var prefix: [UInt8] = []
        JSONOutput.append("{\"file\":", to: &prefix)
        Array(path.utf8).withUnsafeBytes { JSONOutput.appendStringRepairingUTF8($0, to: &prefix) }
        JSONOutput.append(",\"line\":", to: &prefix)
        jsonPrefix = prefix
    }
}

/// Encodes spool records, one NDJSON line each, in the fields `schemas/` describes.
struct RecordEncoder {
    /// `raw` of a `line_too_long` record keeps at most this many bytes.
    static let rawLimit = 4096

    private var props = PropsEncoder()

    /// An accepted record: the exact Nudge body plus provenance.
    mutating func appendAccepted(
        _ decision: Decision, line: UnsafeRawBufferPointer, lineNumber: Int, scanned: ScannedEvent,
        derived: [UInt8], source: SourceFile, to out: inout [UInt8]
    ) {
        switch decision {
        case .identify(let extID):
            JSONOutput.append("{\"kind\":\"identify\",\"body\":{\"ext_id\":", to: &out)
            appendDerived(derived, extID, to: &out)
            appendStringField(",\"name\":", scanned.traitsName, line, to: &out)
            appendStringField(",\"email\":", scanned.traitsEmail, line, to: &out)
            appendStringField(",\"phone\":", scanned.traitsPhone, line, to: &out)
            if scanned.contextTimezone.kind == .string {
                JSONOutput.append(",\"tz\":", to: &out)
                out.appendBytes(scanned.contextTimezone.text(in: line))
            }
            JSONOutput.append(",\"props\":", to: &out)
            props.append(scanned.traits, in: line, droppingIdentityTraits: true, to: &out)
            JSONOutput.append("},\"message_id\":", to: &out)
            appendOptionalString(scanned.messageId, line, to: &out)
            appendSource(source, lineNumber, to: &out)
            JSONOutput.append(",\"resolved_via\":null}\n", to: &out)
        case .track(let name, let extID, let occurredAt, let resolvedVia):
            JSONOutput.append("{\"kind\":\"track\",\"body\":{\"name\":", to: &out)
            appendDerived(derived, name, to: &out)
            JSONOutput.append(",\"ext_id\":", to: &out)
            appendDerived(derived, extID, to: &out)
            JSONOutput.append(",\"occurred_at\":\"", to: &out)
            out.append(contentsOf: derived[occurredAt])
            JSONOutput.append("\",\"props\":", to: &out)
            props.append(scanned.properties, in: line, to: &out)
            JSONOutput.append("},\"message_id\":", to: &out)
            appendOptionalString(scanned.messageId, line, to: &out)
            appendSource(source, lineNumber, to: &out)
            JSONOutput.append(",\"resolved_via\":", to: &out)
            if let resolvedVia {
                out.append(0x22)
                out.append(contentsOf: resolvedVia.code.utf8)
                out.append(0x22)
            } else {
                JSONOutput.append("null", to: &out)
            }
            JSONOutput.append("}\n", to: &out)
        case .drop:
            preconditionFailure("a drop is not an accepted record")
        }
    }

    /// A dropped record. `scanned` is `nil` when the line was not a JSON object.
    func appendDropped(
        _ reason: ReasonCode, detail: String, line: FramedLine, scanned: ScannedEvent?,
        source: SourceFile, to out: inout [UInt8]
    ) {
        JSONOutput.append("{\"reason\":\"", to: &out)
        out.append(contentsOf: reason.rawValue.utf8)
        JSONOutput.append("\",\"detail\":", to: &out)
        appendText(detail, to: &out)
        appendSource(source, line.number, to: &out)
        let bytes = line.bytes
        JSONOutput.append(",\"type\":", to: &out)
        appendOptionalString(scanned?.type ?? .absent, bytes, to: &out)
        JSONOutput.append(",\"event\":", to: &out)
        appendOptionalString(scanned?.event ?? .absent, bytes, to: &out)
        JSONOutput.append(",\"message_id\":", to: &out)
        appendOptionalString(scanned?.messageId ?? .absent, bytes, to: &out)
        appendRaw(bytes, fullLength: line.length, cut: reason == .lineTooLong, to: &out)
    }

    /// A `corrupt_input` entry: a fault, not a record.
    func appendFault(
        detail: String, source: SourceFile, line: Int, offset: Int, fragment: [UInt8], fragmentLength: Int,
        to out: inout [UInt8]
    ) {
        JSONOutput.append("{\"reason\":\"corrupt_input\",\"detail\":", to: &out)
        appendText(detail, to: &out)
        JSONOutput.append(",\"source\":", to: &out)
        out.append(contentsOf: source.jsonPrefix)
        JSONOutput.appendDecimal(line, to: &out)
        JSONOutput.append(",\"offset\":", to: &out)
        JSONOutput.appendDecimal(offset, to: &out)
        JSONOutput.append("},\"type\":null,\"event\":null,\"message_id\":null", to: &out)
        fragment.withUnsafeBytes { appendRaw($0, fullLength: fragmentLength, cut: true, to: &out) }
    }

    private func appendRaw(_ bytes: UnsafeRawBufferPointer, fullLength: Int, cut: Bool, to out: inout [UInt8]) {
        let kept = cut ? Self.rawPrefixLength(bytes) : bytes.count
        JSONOutput.append(",\"raw\":", to: &out)
        JSONOutput.appendStringRepairingUTF8(UnsafeRawBufferPointer(rebasing: bytes[..<kept]), to: &out)
        JSONOutput.append(",\"raw_truncated\":", to: &out)
        if kept < fullLength {
            JSONOutput.append("true}\n", to: &out)
        } else {
            JSONOutput.append("false}\n", to: &out)
        }
    }

    /// How many leading bytes of `bytes` make a `raw` of at most `rawLimit` bytes once
    /// repaired (each ill-formed subpart becomes the 3-byte U+FFFD), never splitting a
    /// character.
    static func rawPrefixLength(_ bytes: UnsafeRawBufferPointer) -> Int {
        var index = 0
        var written = 0
        while index < bytes.count {
            let unit: (length: Int, isComplete: Bool) = bytes[index] < 0x80
                ? (1, true) : JSONBytes.utf8Sequence(bytes, at: index)
            let size = unit.isComplete ? unit.length : 3
            if written + size > rawLimit { break }
            written += size
            index += unit.length
        }
        return index
    }

    private func appendSource(_ source: SourceFile, _ line: Int, to out: inout [UInt8]) {
        JSONOutput.append(",\"source\":", to: &out)
        out.append(contentsOf: source.jsonPrefix)
        JSONOutput.appendDecimal(line, to: &out)
        out.append(0x7D)
    }

    private func appendDerived(_ derived: [UInt8], _ range: Range<Int>, to out: inout [UInt8]) {
        derived.withUnsafeBytes { JSONOutput.appendString(UnsafeRawBufferPointer(rebasing: $0[range]), to: &out) }
    }

    private func appendText(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { JSONOutput.appendString(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// A string value copied as it came, or `null` when absent or not a string.
    private func appendOptionalString(_ span: JSONSpan, _ line: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        if span.kind == .string {
            out.appendBytes(span.text(in: line))
        } else {
            JSONOutput.append("null", to: &out)
        }
    }

    /// `name`, `email`, `phone`: a string as it came, a number as its JSON text in quotes.
    private func appendStringField(
        _ key: StaticString, _ span: JSONSpan, _ line: UnsafeRawBufferPointer, to out: inout [UInt8]
    ) {
        switch span.kind {
        case .string:
            JSONOutput.append(key, to: &out)
            out.appendBytes(span.text(in: line))
        case .number:
            JSONOutput.append(key, to: &out)
            out.append(0x22)
            out.appendBytes(span.text(in: line))
            out.append(0x22)
        default:
            break
        }
    }
}
