import NudgeCore
import NudgeSpool

/// One line of the rejected spool, as much as `requeue` reads of it.
struct RejectedLine {
    var bytes: ArraySlice<UInt8>
    var reason: String
    var status: Int?
    var kind: String
    var extID: String
    /// Its place in the accepted spool, as replay numbers records.
    var sequence: Int
}
