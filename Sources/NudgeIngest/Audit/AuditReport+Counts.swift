import NudgeCore

/// The counts a report is made of.
extension AuditReport {
    public struct ReasonCount: Sendable {
        public var reason: ReasonCode
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

    public struct Example: Sendable {
        public var file: String
        public var line: Int
        public var detail: String
    }

    public struct EventCount: Sendable {
        public var type: String?
        public var event: String?
        public var count: Int
        /// Counts by reason, rule order, zeros left out.
        package var reasons: [(ReasonCode, Int)]
    }

    public struct FileCount: Sendable {
        public var path: String
        public var records: Int
        public var accepted: Int
        public var dropped: Int
        public var faults: Int
        /// Records redrive moved from dropped to accepted (included in `accepted`).
        package var redriven: Int
    }

    public struct DayCount: Sendable {
        /// `YYYY-MM-DD` (UTC), or nil for records with no time at all.
        public var day: String?
        public var dropped: Int
        /// Of those, how many had no valid `timestamp` and were placed by their folder.
        package var byFolder: Int
        package var reasons: [(ReasonCode, Int)]
    }
}
