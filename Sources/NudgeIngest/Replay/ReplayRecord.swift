/// One accepted record as replay sees it: where it is in the spool and what the
/// ordering rules need.
package struct ReplayRecord: Sendable, Equatable {
    /// What a record is, spelled as the accepted and rejected spools spell it: the one
    /// kind the reader, the scheduler, its requests and the rejected spool share.
    package enum Kind: String, Sendable, Equatable {
        case identify, track
    }

    /// Position in the spool: records numbered from 0 in commit order, line order within.
    package var sequence: Int
    package var kind: Kind
    /// The body's `ext_id`.
    package var extID: String
    /// Bytes of the body, for the batch limit.
    package var bodyBytes: Int

    package init(sequence: Int, kind: Kind, extID: String, bodyBytes: Int) {
        self.sequence = sequence
        self.kind = kind
        self.extID = extID
        self.bodyBytes = bodyBytes
    }
}
