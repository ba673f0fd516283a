import NudgeCore

/// The counts a report is made of.
extension AuditReport {
    /// The dropped-spool entries of one reason code.
    public struct ReasonCount: Sendable {
        /// The reason they were dropped for.
        public var reason: ReasonCode
        /// Entries with this reason: dropped records, or for `corrupt_input`, input faults.
        public var count: Int
        /// The first record dropped for it, in spool order.
        public var example: Example?
        /// The raw lines of the first few records dropped for it (each cut at
        /// ``AuditReport/sampleCharacters``), for the HTML page.
        package var samples: [String] = []
    }

    /// Raw lines kept per reason, and characters kept of each.
    package static let samplesPerReason = 3
    package static let sampleCharacters = 400

    /// One entry of the dropped spool, shown for its reason: where it came from and why.
    public struct Example: Sendable {
        /// The input it came from (`source.file`).
        public var file: String
        /// Its 1-based physical line in the decompressed input (for `corrupt_input`, the line
        /// the fault interrupted).
        public var line: Int
        /// The entry's `detail`: what was wrong and where, for a person.
        public var detail: String
    }

    /// The dropped records of one `type` and `event` (faults excluded).
    public struct EventCount: Sendable {
        /// The record's `type`; nil when the line was not an object or `type` not a string.
        public var type: String?
        /// The record's `event` (it may be blank); nil when the line was not an object or
        /// `event` not a string.
        public var event: String?
        /// Dropped records with this `type` and `event`.
        public var count: Int
        /// Counts by reason, rule order, zeros left out.
        package var reasons: [(ReasonCode, Int)]
    }

    /// The counts of one input: for a sound spool, `records` = `accepted` + `dropped`.
    public struct FileCount: Sendable {
        /// The input's path, as `source.file` gives it.
        public var path: String
        /// Records read from it (the ledger's counts, over every commit of this path).
        public var records: Int
        /// Its records in the accepted spool: the ledger's counts plus what redrive moved.
        public var accepted: Int
        /// Its records in the dropped spool now (faults excluded).
        public var dropped: Int
        /// Its `corrupt_input` entries: faults met reading it.
        public var faults: Int
        /// Records redrive moved from dropped to accepted (included in `accepted`).
        package var redriven: Int
    }

    /// The dropped records whose event falls on one UTC day (faults excluded).
    public struct DayCount: Sendable {
        /// `YYYY-MM-DD` (UTC), or nil for records with no time at all.
        public var day: String?
        /// Dropped records of that day.
        public var dropped: Int
        /// Of those, how many had no valid `timestamp` and were placed by their folder.
        package var byFolder: Int
        package var reasons: [(ReasonCode, Int)]
    }
}
