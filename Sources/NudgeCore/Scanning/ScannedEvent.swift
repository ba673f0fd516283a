/// The fields of a Segment event that the contract's rules read, as spans of its line.
///
/// When an object repeats a key, the last one wins, as in JavaScript.
package struct ScannedEvent: Sendable {
    package var type = JSONSpan.absent
    package var event = JSONSpan.absent
    package var userId = JSONSpan.absent
    package var anonymousId = JSONSpan.absent
    package var messageId = JSONSpan.absent
    package var timestamp = JSONSpan.absent
    package var previousId = JSONSpan.absent
    package var traits = JSONSpan.absent
    package var properties = JSONSpan.absent
    package var context = JSONSpan.absent
    /// `traits.name`, `traits.email`, `traits.phone` when `traits` is an object.
    package var traitsName = JSONSpan.absent
    package var traitsEmail = JSONSpan.absent
    package var traitsPhone = JSONSpan.absent
    /// `context.timezone` when `context` is an object.
    package var contextTimezone = JSONSpan.absent

    package init() {}
}
