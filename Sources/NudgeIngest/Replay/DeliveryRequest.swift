/// A request the scheduler hands out: one identify, or a batch of tracks.
package struct DeliveryRequest: Sendable, Equatable {
    package var id: Int
    /// The kind of every record it carries: an identify goes alone, tracks in a batch.
    package var kind: ReplayRecord.Kind
    /// The records it carries, in spool order.
    package var sequences: [Int]
}
