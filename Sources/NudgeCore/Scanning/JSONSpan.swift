/// What kind of JSON value a span holds.
package enum JSONKind: UInt8, Sendable {
    case absent, string, number, object, array, `true`, `false`, null
}

/// Where a JSON value lies in its line, and what it is: no bytes are copied.
package struct JSONSpan: Sendable, Equatable {
    /// Offset of the value's first byte (the opening quote for a string).
    package var start: Int = 0
    /// Offset just past the value's last byte.
    package var end: Int = 0
    package var kind: JSONKind = .absent
    /// A string holds at least one backslash escape.
    package var hasEscapes = false
    /// A number is written without `.`, `e` or `E`.
    package var isInteger = false

    package static let absent = JSONSpan()

    package var isPresent: Bool { kind != .absent }

    /// A string's content, between its quotes, still escaped.
    @inline(__always)
    package func content(in line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: line[(start + 1)..<(end - 1)])
    }

    /// The value's JSON text.
    @inline(__always)
    package func text(in line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: line[start..<end])
    }
}
