import NudgeSpool

extension AuditReport {
    /// The replay side of the audit, from the replay checkpoint and the rejected spool.
    package struct ReplayCounts: Sendable, Equatable {
        /// Where the replay these counts are of delivers; nil before the first replay
        /// (or after one from before destinations were recorded). Other destinations'
        /// progress, kept apart by `replay --switch-destination`, is not counted here.
        package var destination: ReplayDestination?
        /// Records Nudge acknowledged, over every replay to ``destination``.
        package var acknowledged = 0
        /// Records in the rejected spool (`SPOOL/rejected/`) now.
        package var rejected = 0
        /// Records `requeue` put back, over the spool's life, and those of them the
        /// next replay still has to send.
        package var requeued = 0
        package var requeuedPending = 0

        /// Reads them without the replay lock (a replay may be running: its last saved
        /// checkpoint is what counts).
        static func read(spool: String) throws(SpoolError) -> ReplayCounts {
            let checkpoint = try ReplayCheckpoint.saved(inSpool: spool)
            var counts = ReplayCounts()
            counts.destination = checkpoint.destination
            counts.acknowledged = checkpoint.acknowledged
            counts.requeued = checkpoint.requeuedTotal
            counts.requeuedPending = checkpoint.requeued.count
            counts.rejected = ((try? checkpoint.rejectedLines(inSpool: spool)) ?? []).count
            return counts
        }
    }
}
