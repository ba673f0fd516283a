/// What kind of JSON value a span holds.
public enum JSONKind: UInt8, Sendable {
    case absent, string, number, object, array, `true`, `false`, null
}

/// Where a JSON value lies in its line, and what it is: no bytes are copied.
public struct JSONSpan: Sendable, Equatable {
    /// Offset of the value's first byte (the opening quote for a string).
    public var start: Int = 0
    /// Offset just past the value's last byte.
    public var end: Int = 0
    public var kind: JSONKind = .absent
    /// A string holds at least one backslash escape.
    public var hasEscapes = false
    /// A number is written without `.`, `e` or `E`.
    public var isInteger = false

    public static let absent = JSONSpan()

    public var isPresent: Bool { kind != .absent }

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

/// The fields of a Segment event that the contract's rules read, as spans of its line.
///
/// When an object repeats a key, the last one wins, as in JavaScript.
public struct ScannedEvent: Sendable {
    public var type = JSONSpan.absent
    public var event = JSONSpan.absent
    public var userId = JSONSpan.absent
    public var anonymousId = JSONSpan.absent
    public var messageId = JSONSpan.absent
    public var timestamp = JSONSpan.absent
    public var previousId = JSONSpan.absent
    public var traits = JSONSpan.absent
    public var properties = JSONSpan.absent
    public var context = JSONSpan.absent
    /// `traits.name`, `traits.email`, `traits.phone` when `traits` is an object.
    public var traitsName = JSONSpan.absent
    public var traitsEmail = JSONSpan.absent
    public var traitsPhone = JSONSpan.absent
    /// `context.timezone` when `context` is an object.
    public var contextTimezone = JSONSpan.absent

    public init() {}
}
