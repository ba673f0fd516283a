import Testing
@testable import NudgeIngest

/// The replay checkpoint's JSON, read back by the tool's own reader.
@Suite struct ReplayCheckpointTests {
    /// A checkpoint reads back exactly what it saved, rejected ext_ids with escapes included.
    @Test func aCheckpointRoundTrips() throws {
        var checkpoint = ReplayCheckpoint()
        checkpoint.watermark = 17
        checkpoint.done = [19, 23]
        checkpoint.rejectedUsers = ["plain", #"quote\"and\\backslash"#, #"caf\u00e9"#]
        checkpoint.rejectedBytes = 512
        checkpoint.acknowledged = 9
        checkpoint.rejected = 2
        #expect(ReplayCheckpoint(json: checkpoint.json) == checkpoint)
        #expect(ReplayCheckpoint(json: Array("{}".utf8)) == nil)
    }
}
