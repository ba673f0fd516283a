import NudgeCore
import NudgeSpool

/// What one reader counts over its run of dropped files.
struct DropTally: Sendable {
    static let noDay = Int64.min
    struct EventKey: Hashable { var type: String?; var event: String? }

    var reasonCounts = [Int](repeating: 0, count: ReasonCode.allCases.count)
    var examples = [AuditReport.Example?](repeating: nil, count: ReasonCode.allCases.count)
    var samples = [[String]](repeating: [], count: ReasonCode.allCases.count)
    var events: [EventKey: [Int]] = [:]
    var droppedByFile: [String: (dropped: Int, faults: Int)] = [:]
    var days: [Int64: (counts: [Int], byFolder: Int)] = [:]
    var redrivable = 0
    /// The identity state now, to tell which dropped tracks it would accept.
    let state: IdentityState
    private var lastFile: (bytes: [UInt8], path: String) = ([], "")

    init(state: IdentityState) {
        self.state = state
    }

    mutating func add(_ drop: ScannedDrop) {
        let index = drop.reason.index
        reasonCounts[index] += 1
        // One input per commit: the file's bytes rarely change from one record to the next.
        let fileBytes = drop.bytes[drop.record.file]
        if !fileBytes.elementsEqual(lastFile.bytes) { lastFile = (Array(fileBytes), drop.file) }
        let file = lastFile.path
        if examples[index] == nil {
            examples[index] = AuditReport.Example(file: file, line: drop.record.line, detail: drop.detail)
        }
        if samples[index].count < AuditReport.samplesPerReason, let raw = drop.string(drop.record.raw) {
            samples[index].append(String(raw.prefix(AuditReport.sampleCharacters)))
        }
        if drop.reason == .corruptInput {
            droppedByFile[file, default: (0, 0)].faults += 1
            return
        }
        droppedByFile[file, default: (0, 0)].dropped += 1
        events[EventKey(type: drop.type, event: drop.event), default: Self.zeros][index] += 1
        let original = drop.originalEvent()
        if drop.type == "track", let original, isAcceptedNow(drop.reason, original) { redrivable += 1 }
        let time = drop.eventTime(original)
        let day = time.map { $0.milliseconds.floorDivided(by: 86_400_000).quotient } ?? Self.noDay
        days[day, default: (Self.zeros, 0)].counts[index] += 1
        if time?.fromFolder == true { days[day]!.byFolder += 1 }
    }

    /// Whether `redrive` would accept this dropped track now: a `not_identified` one
    /// whose user is identified, an `anonymous_only` one (with a valid timestamp, the
    /// rule after its own) whose anonymousId is linked to an identified user.
    private func isAcceptedNow(_ reason: ReasonCode, _ event: RawEvent) -> Bool {
        switch reason {
        case .notIdentified:
            // Its user came from its userId, or (none given) from the link of its anonymousId.
            if let userID = event.userID, let extID = event.extID, !userID.withUnsafeBytes(UnicodeText.isBlank) {
                return extID.withUnsafeBytes(state.acceptsTrack(extID:))
            }
            return event.anonymousID?.withUnsafeBytes(state.acceptsTrack(anonymousID:)) ?? false
        case .anonymousOnly:
            guard event.timestamp != nil, let anonymousID = event.anonymousID else { return false }
            return anonymousID.withUnsafeBytes(state.acceptsTrack(anonymousID:))
        default:
            return false
        }
    }

    /// Adds the tally of the files after this one's.
    mutating func merge(_ later: DropTally) {
        redrivable += later.redrivable
        for i in reasonCounts.indices {
            reasonCounts[i] += later.reasonCounts[i]
            if examples[i] == nil { examples[i] = later.examples[i] }
            samples[i] = Array((samples[i] + later.samples[i]).prefix(AuditReport.samplesPerReason))
        }
        for (key, counts) in later.events { events[key] = zip(events[key] ?? Self.zeros, counts).map(+) }
        for (file, counts) in later.droppedByFile {
            let mine = droppedByFile[file] ?? (0, 0)
            droppedByFile[file] = (mine.dropped + counts.dropped, mine.faults + counts.faults)
        }
        for (day, value) in later.days {
            let mine = days[day] ?? (Self.zeros, 0)
            days[day] = (zip(mine.counts, value.counts).map(+), mine.byFolder + value.byFolder)
        }
    }

    private static let zeros = [Int](repeating: 0, count: ReasonCode.allCases.count)
}
