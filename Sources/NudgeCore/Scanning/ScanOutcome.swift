/// What a line is, once scanned.
package enum ScanOutcome: Equatable, Sendable {
    /// A JSON object; its fields are in the `ScannedEvent`.
    case object
    /// Valid JSON whose root is not an object.
    case notAnObject(JSONKind)
    /// Not strict JSON, or not UTF-8.
    case malformed(JSONSyntaxError)
}
