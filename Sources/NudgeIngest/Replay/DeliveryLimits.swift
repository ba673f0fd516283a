/// Limits on what one request carries and how far replay reads ahead. The defaults
/// are those of Segment's own client for the Nudge destination.
package struct DeliveryLimits: Sendable, Equatable {
    /// Tracks per batch (`--batch-size`, default 1,000).
    package var batchCount = 1000
    /// Body bytes per batch (`--batch-bytes`, default 4 MB); a single larger track is
    /// still sent, alone.
    package var batchBytes = 4_000_000
    /// Records read ahead of the oldest one not yet done: room for every request in
    /// flight to be full while one user's records wait behind its earlier ones. Memory
    /// is bounded by it (each record holds its body, a few hundred bytes).
    package var window = 65_536

    package init() {}
}
