import NudgeCore

/// Which dropped records `audit list` and `redrive` select. Each kind of criterion
/// given must match (AND); several values of one kind are alternatives (OR).
public struct AuditFilter: Sendable, Equatable {
    /// The record's reason code (`--reason`).
    public var reasons: [ReasonCode] = []
    /// The record's `type` / `event`, exactly.
    public var types: [String] = []
    /// The record's `event`, exactly (`--event`).
    public var events: [String] = []
    /// The original event's `userId` (string text or integer JSON text), its
    /// `anonymousId`, or the `ext_id` its `userId` sanitises to.
    public var users: [String] = []
    /// `source.file`, exactly or as a folder it lies under.
    public var files: [String] = []
    /// The event's time (see ``ScannedDrop/eventTime(_:)``) is at or after `from` and
    /// before `to`, in milliseconds since the epoch.
    public var from: Int64?
    /// The end of the window, excluded (see ``from``); nil for no end.
    public var to: Int64?

    /// A filter with no criteria: it selects every entry of the dropped spool.
    public init() {}

    /// Whether `file` (a `source.file`) is one of `files` or lies under one of them as a
    /// folder (`s3://BUCKET/PREFIX` included).
    package static func selects(file: String, in files: [String]) -> Bool {
        files.contains { file == $0 || file.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }
    }

    /// Whether `line`, a dropped record as the spool holds it, fails the reason criterion
    /// by its first bytes alone: the spool writes `{"reason":"CODE",` first, so a page
    /// of a rare reason passes over the other records without parsing them. False when
    /// the line does not start so (then it is parsed and matched in full).
    package func rejectsByReason(_ line: UnsafeRawBufferPointer) -> Bool {
        guard !reasons.isEmpty else { return false }
        let prefix = #"{"reason":""#.utf8
        guard line.count > prefix.count + 1, line.starts(with: prefix) else { return false }
        let code = line[prefix.count...].prefix { $0 != 0x22 }
        return !reasons.contains { $0.rawValue.utf8.elementsEqual(code) }
    }

    /// Whether matching needs the original event read from `raw`.
    var readsOriginalEvent: Bool { !users.isEmpty || from != nil || to != nil }

    package func matches(_ drop: ScannedDrop) -> Bool {
        if !reasons.isEmpty && !reasons.contains(drop.reason) { return false }
        if !types.isEmpty && !(drop.type.map(types.contains) ?? false) { return false }
        if !events.isEmpty && !(drop.event.map(events.contains) ?? false) { return false }
        if !files.isEmpty && !Self.selects(file: drop.file, in: files) { return false }
        guard readsOriginalEvent else { return true }
        let original = drop.originalEvent()
        if !users.isEmpty {
            guard let original else { return false }
            let candidates = [original.userID, original.anonymousID, original.extID].compactMap { $0 }
            guard users.contains(where: { user in candidates.contains { $0.elementsEqual(user.utf8) } }) else {
                return false
            }
        }
        if from != nil || to != nil {
            guard let time = drop.eventTime(original)?.milliseconds else { return false }
            if let from, time < from { return false }
            if let to, time >= to { return false }
        }
        return true
    }

    /// A short digest of the criteria, so that a cursor is not used with others.
    var digest: String {
        var hasher = ContentHasher()
        for part in [reasons.map(\.rawValue).sorted(), types.sorted(), events.sorted(), users.sorted(), files.sorted(),
                     [from.map(String.init) ?? "-", to.map(String.init) ?? "-"]] {
            // Each value ends with a 0 byte and each kind with a 1, so no two filters run together.
            for value in part { Array(value.utf8 + [0]).withUnsafeBytes { hasher.update($0) } }
            [UInt8(1)].withUnsafeBytes { hasher.update($0) }
        }
        return String(hasher.hexDigest.prefix(8))
    }

    /// Reads `--from`/`--to`: `YYYY-MM-DD` (midnight UTC; as `--to`, the end of that day)
    /// or an RFC 3339 date-time (`T` and a time; UTC when it has no offset).
    package static func parseTime(_ text: String, isEnd: Bool) -> Int64? {
        let utf8 = Array(text.utf8)
        if utf8.count == 10 {
            let day = utf8 + Array("T00:00:00Z".utf8)
            guard let start = day.withUnsafeBytes({ Timestamp.parse($0) }) else { return nil }
            return start.millisecondsSinceEpoch + (isEnd ? 86_400_000 : 0)
        }
        if let time = utf8.withUnsafeBytes({ Timestamp.parse($0) }) { return time.millisecondsSinceEpoch }
        return (utf8 + [0x5A]).withUnsafeBytes { Timestamp.parse($0) }?.millisecondsSinceEpoch
    }
}
