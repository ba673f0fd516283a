/// The records a replay still has to deliver, by sequence: those from the watermark on
/// that are not done, and those before it that `requeue` put back. The spool's reader
/// skips the others without parsing them.
package struct WantedRecords: Sendable, Equatable {
    package var watermark: Int
    package var doneAfterWatermark: Set<Int>
    package var requeued: Set<Int>

    package func contains(_ sequence: Int) -> Bool {
        requeued.contains(sequence) || (sequence >= watermark && !doneAfterWatermark.contains(sequence))
    }
}
