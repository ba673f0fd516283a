import NudgeCore

/// The counts a report is made of.
extension AuditReport {
    package struct ReasonCount: Sendable {
        package var reason: ReasonCode
        package var count: Int
        /// The first record dropped for it, in spool order.
        package var example: Example?
        /// The raw lines of the first few records dropped for it (each cut at
        /// ``AuditReport/sampleCharacters``), for the HTML page.
        package var samples: [String] = []
    }

    /// Raw lines kept per reason, and characters kept of each.
    package static let samplesPerReason = 3
    package static let sampleCharacters = 400

    package struct Example: Sendable {
        package var file: String
        package var line: Int
        package var detail: String
    }

    package struct EventCount: Sendable {
        package var type: String?
        package var event: String?
        package var count: Int
        /// Counts by reason, rule order, zeros left out.
        package var reasons: [(ReasonCode, Int)]
    }

    package struct FileCount: Sendable {
        package var path: String
        package var records: Int
        package var accepted: Int
        package var dropped: Int
        package var faults: Int
        /// Records redrive moved from dropped to accepted (included in `accepted`).
        package var redriven: Int
    }

    package struct DayCount: Sendable {
        /// `YYYY-MM-DD` (UTC), or nil for records with no time at all.
        package var day: String?
        package var dropped: Int
        /// Of those, how many had no valid `timestamp` and were placed by their folder.
        package var byFolder: Int
        package var reasons: [(ReasonCode, Int)]
    }
}
