import NudgeCore
import NudgeSpool

/// Where a replay delivers: Nudge's endpoint and a fingerprint of the API key (never
/// the key). A replay's progress belongs to one destination, so that the same spool can
/// be delivered in full to a staging account and then to production.
public struct ReplayDestination: Sendable, Equatable, CustomStringConvertible {
    /// The endpoint as compared: scheme and host in lower case, no trailing `/`.
    package var endpoint: String
    /// A one-way fingerprint of the API key (`sha256:` and 32 hex digits of its SHA-256,
    /// made by the HTTP shell), or empty where no key is known (a dry run without one).
    package var keyFingerprint: String

    package init(endpoint: String, keyFingerprint: String) {
        self.endpoint = Self.normalized(endpoint)
        self.keyFingerprint = keyFingerprint
    }

    /// Whether a checkpoint saved for `saved` is this destination's: the same endpoint
    /// and key; a destination whose key is not known (a dry run without one) goes by
    /// the endpoint alone.
    func isSame(as saved: ReplayDestination) -> Bool {
        endpoint == saved.endpoint && (keyFingerprint.isEmpty || keyFingerprint == saved.keyFingerprint)
    }

    /// `https://API.example.com/x/` and `https://api.example.com/x` are one endpoint.
    static func normalized(_ endpoint: String) -> String {
        var text = endpoint
        while text.hasSuffix("/") { text.removeLast() }
        guard let schemeEnd = text.range(of: "://") else { return text }
        let afterScheme = text[schemeEnd.upperBound...]
        let hostEnd = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
        return text[..<hostEnd].lowercased() + text[hostEnd...]
    }

    /// The folder name of this destination's kept progress, `SPOOL/replay/destinations/NAME`:
    /// a hash of the endpoint and the key's fingerprint.
    var folderName: String {
        var hasher = ContentHasher()
        var text = endpoint + "\n" + keyFingerprint
        text.withUTF8 { hasher.update(UnsafeRawBufferPointer($0)) }
        return String(hasher.hexDigest.prefix(16))
    }

    /// `"destination": {"endpoint": …, "key_fingerprint": …}`, or `null`: as the
    /// checkpoint and the audit report write it.
    static func write(_ destination: ReplayDestination?, to json: inout JSONWriter) {
        guard let destination else { return json.value("destination", nil as String?) }
        json.beginObject("destination")
        json.value("endpoint", destination.endpoint)
        json.value("key_fingerprint", destination.keyFingerprint)
        json.endObject()
    }

    /// `https://api.example.com/x (key sha256:1f2e3d4c…)`
    public var description: String {
        keyFingerprint.isEmpty ? endpoint : "\(endpoint) (key \(keyFingerprint.prefix(15))…)"
    }
}

extension ReplayCheckpoint {
    /// Refuses a checkpoint that does not count this spool's records: one saved for a
    /// spool since started over, or one that vouches for records past the spool's end.
    /// A fresh checkpoint always matches.
    func check(matches ledger: Ledger, spool: String) throws(ReplayRefusal) {
        let accepted = ledger.acceptedRecordCount
        if let replayed = self.spool {
            let firstCommitAt = ledger.entries.first?.committedAt ?? ""
            guard replayed.firstCommitAt == firstCommitAt else {
                throw .otherSpool(spool: spool, savedFirstCommitAt: replayed.firstCommitAt, firstCommitAt: firstCommitAt)
            }
            guard replayed.acceptedRecords <= accepted else {
                throw .pastTheEnd(spool: spool, counted: replayed.acceptedRecords, accepted: accepted)
            }
        }
        let furthest = max(watermark, (done.max() ?? -1) + 1, (requeued.max() ?? -1) + 1)
        guard furthest <= accepted else { throw .pastTheEnd(spool: spool, counted: furthest, accepted: accepted) }
    }

    /// What a replay to `destination` starts from.
    enum Binding: Equatable {
        /// The current checkpoint (or a fresh one), bound to the destination.
        case current(ReplayCheckpoint)
        /// Another destination's progress is kept apart first; this is the one to use:
        /// the destination's own kept progress, or a fresh one.
        case switchTo(ReplayCheckpoint)

        var checkpoint: ReplayCheckpoint {
            switch self {
            case .current(let checkpoint), .switchTo(let checkpoint): checkpoint
            }
        }
    }

    /// Decides whose progress a replay to `destination` continues, or refuses.
    ///
    /// - Parameters:
    ///   - current: the spool's current checkpoint; nil when there is none.
    ///   - kept: `destination`'s own progress, kept apart by an earlier switch.
    ///   - switching: `--switch-destination`: keep another destination's progress
    ///     apart rather than refuse.
    ///   - adopting: `--adopt-checkpoint`: take a checkpoint that names no destination
    ///     as this one's.
    static func binding(
        current: ReplayCheckpoint?, kept: ReplayCheckpoint?, to destination: ReplayDestination, ledger: Ledger,
        spool: String, switching: Bool, adopting: Bool
    ) throws(ReplayRefusal) -> Binding {
        func bound(_ checkpoint: ReplayCheckpoint) -> ReplayCheckpoint {
            var checkpoint = checkpoint
            checkpoint.destination = destination
            checkpoint.spool = ReplayedSpool(ledger: ledger)
            return checkpoint
        }
        // No current progress (a new spool, or a switch a kill cut short): this
        // destination's kept progress, if any, comes back.
        guard let saved = current else {
            guard let kept else { return .current(bound(ReplayCheckpoint())) }
            try kept.check(matches: ledger, spool: spool)
            return .switchTo(bound(kept))
        }
        // Progress that holds nothing (a replay that stopped before any answer) binds
        // nothing either.
        let belongs = saved.isFresh || saved.destination.map { destination.isSame(as: $0) } == true
            || (saved.destination == nil && adopting)
        if belongs {
            try saved.check(matches: ledger, spool: spool)
            return .current(bound(saved))
        }
        guard switching else {
            if let other = saved.destination {
                throw .otherDestination(spool: spool, saved: other, asked: destination, askedWasKept: kept != nil)
            }
            throw .unboundCheckpoint(spool: spool, asked: destination, settled: saved.settledCount)
        }
        let next = kept ?? ReplayCheckpoint()
        try next.check(matches: ledger, spool: spool)
        return .switchTo(bound(next))
    }

    /// Records this checkpoint has settled, for messages.
    var settledCount: Int { watermark + done.count - requeued.count }

    /// Whether no replay or requeue has settled or put back anything in it (whatever
    /// destination and spool it names).
    var isFresh: Bool {
        var progress = self
        progress.rejectedRewrite = nil
        return progress == ReplayCheckpoint(destination: destination, spool: spool)
    }
}

