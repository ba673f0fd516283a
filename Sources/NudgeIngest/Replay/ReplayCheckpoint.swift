import NudgeCore
import NudgeSpool
import NudgeSystem

/// What `replay` has finished, in `SPOOL/replay/checkpoint.json`
/// (`schemas/replay-checkpoint.schema.json`): written to a temporary file, synced and
/// renamed, so a kill at any instant leaves the previous or the new one whole.
///
/// It belongs to one destination (``destination``) and one spool (``spool``): a replay
/// to another destination, or of a spool that was started over, refuses it
/// (``ReplayRefusal``) instead of reading it as "done".
package struct ReplayCheckpoint: Sendable, Equatable {
    /// Where the records it counts were delivered; nil in a checkpoint of version 1 or
    /// 2 (before destinations were recorded) and in a fresh one.
    package var destination: ReplayDestination?
    /// The spool whose records it counts; nil in a checkpoint of version 1 or 2.
    package var spool: ReplayedSpool?
    /// Every accepted record before this sequence is done (acknowledged or rejected),
    /// except those in ``requeued``.
    package var watermark = 0
    /// Done records at or after the watermark.
    package var done: Set<Int> = []
    /// Records before the watermark that `requeue` put back: the next replay sends them.
    package var requeued: Set<Int> = []
    /// Users whose latest identify Nudge rejected.
    package var rejectedUsers: Set<String> = []
    /// Bytes of records (as `zcat` gives them) of the rejected spool's file
    /// (`SPOOL/rejected/rejected.ndjson.gz`, see ``RejectedSpoolFile``) that this
    /// checkpoint vouches for.
    package var rejectedBytes = 0
    /// A `requeue` commit: the rewritten rejected spool under its hidden name, which
    /// the next open renames over the rejected spool's file if a kill came first.
    package var rejectedRewrite: String?
    /// Records Nudge acknowledged, over every replay to this destination.
    package var acknowledged = 0
    /// Records in the rejected spool now: rejected over every replay, less those
    /// `requeue` put back (a record sent again counts once, as its last answer says).
    package var rejected = 0
    /// Records put back by `requeue`, over the spool's life.
    package var requeuedTotal = 0

    package init(destination: ReplayDestination? = nil, spool: ReplayedSpool? = nil) {
        self.destination = destination
        self.spool = spool
    }

    var json: [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.value("version", 3)
        ReplayDestination.write(destination, to: &json)
        if let spool {
            json.beginObject("spool")
            json.value("first_commit_at", spool.firstCommitAt)
            json.value("accepted_records", spool.acceptedRecords)
            json.endObject()
        } else {
            json.value("spool", nil as String?)
        }
        json.value("watermark", watermark)
        json.array("done", done.sorted())
        json.array("requeued", requeued.sorted())
        // Each ext_id's text as the spool holds it (escapes included), as a JSON string:
        // it reads back exactly, whatever escapes it has.
        json.array("rejected_users", rejectedUsers.sorted())
        json.value("rejected_bytes", rejectedBytes)
        json.value("rejected_rewrite", rejectedRewrite)
        json.value("acknowledged", acknowledged)
        json.value("rejected", rejected)
        json.value("requeued_total", requeuedTotal)
        json.endObject()
        return json.line
    }

    /// Reads a checkpoint of version 3, 2 (before destinations) or 1 (before `requeue`).
    init?(json bytes: [UInt8]) {
        guard let read = try? Self(reading: JSONValue(parsing: bytes).object()) else { return nil }
        self = read
    }

    private init(reading object: JSONObject) throws(JSONReadError) {
        let version = try object.int("version")
        guard (1...3).contains(version) else { throw JSONReadError(member: "version", .unknownValue) }
        watermark = try object.int("watermark")
        done = Set(try object.ints("done"))
        rejectedUsers = Set(try object.strings("rejected_users"))
        rejectedBytes = try object.int("rejected_bytes")
        acknowledged = try object.int("acknowledged")
        rejected = try object.int("rejected")
        if version >= 2 {
            requeued = Set(try object.ints("requeued"))
            requeuedTotal = try object.int("requeued_total")
            rejectedRewrite = try object.optionalString("rejected_rewrite")
        }
        if version == 3 {
            // Both are written, as an object or null, in every checkpoint of version 3.
            if let destination = try object.value("destination").isNull ? nil : object.object("destination") {
                self.destination = ReplayDestination(endpoint: try destination.string("endpoint"),
                                                     keyFingerprint: try destination.string("key_fingerprint"))
            }
            if let spool = try object.value("spool").isNull ? nil : object.object("spool") {
                self.spool = ReplayedSpool(firstCommitAt: try spool.string("first_commit_at"),
                                           acceptedRecords: try spool.int("accepted_records"))
            }
        } else {
            // Before version 3, `rejected` counted every rejection, those requeue had
            // put back too; now it counts the records in the rejected spool.
            rejected = max(0, rejected - requeuedTotal)
        }
    }

    /// The checkpoint of `spool`, read without the lock and without changing anything
    /// (for `audit`); a fresh one when no replay has run.
    package static func saved(inSpool spool: String) throws(SpoolError) -> ReplayCheckpoint {
        try saved(at: spool + "/replay/checkpoint.json")
    }

    /// The checkpoint at `path`; a fresh one when there is none.
    static func saved(at path: String) throws(SpoolError) -> ReplayCheckpoint {
        guard Files.size(of: path) != nil else { return ReplayCheckpoint() }
        guard let saved = ReplayCheckpoint(json: try Files.read(path)) else {
            throw .damaged(path: path, problem: "it is not a replay checkpoint this tool wrote")
        }
        return saved
    }

    /// The records of the rejected spool that this checkpoint vouches for, each its line
    /// (a `rejected-record`), read without the replay lock: a replay may be running.
    package func rejectedLines(inSpool spool: String) throws(SpoolError) -> [ArraySlice<UInt8>] {
        try rejectedRecords(inSpool: spool).lines.split(separator: 0x0A)
    }

    /// The records of the rejected spool that this checkpoint vouches for, as the lines
    /// of one text (inflated when the file is compressed), and the file they were read
    /// from: the rewrite a requeue committed while it is not renamed in place yet.
    func rejectedRecords(inSpool spool: String) throws(SpoolError) -> (path: String, lines: [UInt8]) {
        let file = RejectedSpoolFile(folder: spool + "/rejected")
        var path = file.path
        if let rejectedRewrite, Files.size(of: spool + "/rejected/" + rejectedRewrite) != nil {
            path = spool + "/rejected/" + rejectedRewrite
        }
        guard Files.size(of: path) != nil else { return (path, []) }
        return (path, try file.lines(at: path, recordBytes: rejectedBytes))
    }
}

/// `SPOOL/replay/` and `SPOOL/rejected/`: the checkpoint, the rejected spool and the
/// lock that keeps one replay (or requeue) per spool.
final class ReplayStore {
    let spool: String
    let folder: String
    /// The rejected spool's file; its form may change when a destination's kept spool
    /// comes back.
    private(set) var rejected: RejectedSpoolFile
    var rejectedPath: String { rejected.path }
    private let lock: SpoolLock
    private var rejectedFile: FileDescriptor
    /// Compresses what is written to the rejected spool (one for the store's life).
    private let encoder = SpoolMemberEncoder()
    private(set) var checkpoint: ReplayCheckpoint

    var checkpointPath: String { folder + "/checkpoint.json" }

    init(spool: String, holderName: String = "replay") throws(SpoolError) {
        folder = spool + "/replay"
        try Files.makeDirectory(folder)
        try Files.makeDirectory(spool + "/rejected")
        lock = try SpoolLock(path: folder + "/lock", spool: spool, holderName: holderName)
        DurableFiles.removeLeftovers(in: folder)
        self.spool = spool
        try Self.finishSwitch(spool: spool)
        checkpoint = try ReplayCheckpoint.saved(inSpool: spool)
        // A requeue committed (its checkpoint names the rewritten file) and was killed
        // before the rename: finish it. A rewrite the checkpoint does not name never
        // committed: remove it.
        let rejected = RejectedSpoolFile(folder: spool + "/rejected")
        self.rejected = rejected
        for name in Files.names(in: spool + "/rejected") where name.hasPrefix(".") {
            let path = spool + "/rejected/" + name
            if name == checkpoint.rejectedRewrite {
                try DurableFiles.move(path, to: rejected.path)
            } else {
                Files.remove(path)
            }
        }
        do { rejectedFile = try .create(rejected.path, truncating: false) } catch {
            throw .cannotCreate(path: rejected.path, error: error)
        }
        try cutRejected(to: checkpoint.rejectedBytes)
    }

    /// Entries written after the last checkpoint are written again by this replay: the
    /// rejected spool is cut to the `recordBytes` of records the checkpoint vouches for.
    private func cutRejected(to recordBytes: Int) throws(SpoolError) {
        let bytes = try rejected.fileBytes(at: rejectedPath, recordBytes: recordBytes)
        do {
            try rejectedFile.truncate(to: bytes)
            try rejectedFile.seek(to: bytes)
        } catch {
            throw .cannotWrite(path: rejectedPath, error: error)
        }
    }

    deinit {
        rejectedFile.close()
    }

    /// `SPOOL/replay/destinations/`: the progress of destinations other than the current
    /// one, each in a folder of its own with its checkpoint and its rejected spool.
    private var keptFolder: String { Self.keptFolder(spool: spool) }
    private static func keptFolder(spool: String) -> String { spool + "/replay/destinations" }

    /// Makes `destination` the one this replay's progress belongs to, or refuses.
    ///
    /// The current checkpoint must count this spool's records, and belong to
    /// `destination` (a fresh one, or with `adopting` one from before destinations
    /// were recorded, is bound to it). With `switching`, another destination's progress
    /// is kept apart (``switchDestination(to:)``) and `destination`'s own, kept from an
    /// earlier switch, comes back, or a fresh delivery starts.
    func bind(
        to destination: ReplayDestination, ledger: Ledger, switching: Bool, adopting: Bool
    ) throws(ReplayError) {
        let decision = try Self.binding(ofSpool: spool, to: destination, ledger: ledger, switching: switching,
                                        adopting: adopting)
        if case .switchTo(let next) = decision {
            do {
                try switchDestination(to: destination)
                try cutRejected(to: next.rejectedBytes)
            } catch {
                throw .spool(error)
            }
        }
        // Saved with the first answer: a replay to a mistyped endpoint that never
        // answered leaves no progress, so it binds nothing.
        checkpoint = decision.checkpoint
    }

    /// What a replay of `spool` to `destination` would start from (read without the
    /// lock, changing nothing: a dry run's answer).
    static func binding(
        ofSpool spool: String, to destination: ReplayDestination, ledger: Ledger, switching: Bool, adopting: Bool
    ) throws(ReplayError) -> ReplayCheckpoint.Binding {
        let checkpointPath = spool + "/replay/checkpoint.json"
        var keptPath = keptFolder(spool: spool) + "/" + destination.folderName + "/checkpoint.json"
        if destination.keyFingerprint.isEmpty {
            // A dry run without a key: the kept progress of the same endpoint, whatever its key.
            for name in Files.names(in: keptFolder(spool: spool)) {
                let path = keptFolder(spool: spool) + "/" + name + "/checkpoint.json"
                if let kept = try? ReplayCheckpoint.saved(at: path), let saved = kept.destination,
                   destination.isSame(as: saved) {
                    keptPath = path
                    break
                }
            }
        }
        let current: ReplayCheckpoint?
        let kept: ReplayCheckpoint?
        do {
            current = Files.size(of: checkpointPath) == nil ? nil : try ReplayCheckpoint.saved(at: checkpointPath)
            kept = Files.size(of: keptPath) == nil ? nil : try ReplayCheckpoint.saved(at: keptPath)
        } catch {
            throw .spool(error)
        }
        do {
            return try ReplayCheckpoint.binding(current: current, kept: kept, to: destination, ledger: ledger,
                                                spool: spool, switching: switching, adopting: adopting)
        } catch {
            throw .refused(error)
        }
    }

    /// Keeps the current destination's checkpoint and rejected spool apart, in
    /// `replay/destinations/NAME/`, and brings `destination`'s back if it has been kept.
    ///
    /// Each step is one rename, in an order a kill can interrupt anywhere: the
    /// checkpoint moves first (the commit point), then the rejected spool follows it; a
    /// kept checkpoint without its rejected spool, while no checkpoint is current, is
    /// finished by the next open (``finishSwitch(spool:)``).
    private func switchDestination(to destination: ReplayDestination) throws(SpoolError) {
        try Files.makeDirectory(keptFolder)
        if Files.size(of: checkpointPath) != nil {
            let name = checkpoint.destination?.folderName ?? unusedName("unrecorded")
            let away = keptFolder + "/" + name
            try Files.makeDirectory(away)
            try DurableFiles.syncFolder(keptFolder)
            try DurableFiles.move(checkpointPath, to: away + "/checkpoint.json")
            CrashPoint.reach(.destinationKept, commit: 0)
            try Self.moveRejected(spool: spool, to: away)
        }
        let back = keptFolder + "/" + destination.folderName
        if Files.size(of: back + "/checkpoint.json") != nil {
            let kept = RejectedSpoolFile(folder: back)
            try DurableFiles.move(kept.path, to: rejectedFolder + "/" + kept.name)
            CrashPoint.reach(.destinationRestoring, commit: 0)
            try DurableFiles.move(back + "/checkpoint.json", to: checkpointPath)
            Files.removeEmptyDirectory(back)
        }
        rejected = RejectedSpoolFile(folder: rejectedFolder)
        try reopenRejected()
    }

    /// The current rejected spool joins the kept checkpoint in `away` (an empty one
    /// when there is none).
    private static func moveRejected(spool: String, to away: String) throws(SpoolError) {
        let current = RejectedSpoolFile(folder: spool + "/rejected")
        if current.exists {
            try DurableFiles.move(current.path, to: away + "/" + current.name)
        } else {
            try DurableFiles.write([], to: away + "/" + current.name)
            try DurableFiles.syncFolder(away)
        }
    }

    /// After a kill in the middle of ``switchDestination(to:)``: with no current
    /// checkpoint, a kept one without its rejected spool gets the current rejected
    /// spool back (it was the one moving); empty folders left by a finished switch go.
    private static func finishSwitch(spool: String) throws(SpoolError) {
        let keptFolder = keptFolder(spool: spool)
        let checkpointPath = spool + "/replay/checkpoint.json"
        let names = Files.names(in: keptFolder)
        guard !names.isEmpty else { return }
        for name in names {
            let kept = keptFolder + "/" + name
            let hasCheckpoint = Files.size(of: kept + "/checkpoint.json") != nil
            if !hasCheckpoint {
                // A folder a finished switch emptied (a kept rejected spool without its
                // checkpoint cannot happen: the checkpoint leaves last).
                if !RejectedSpoolFile(folder: kept).exists { Files.removeEmptyDirectory(kept) }
                continue
            }
            if Files.size(of: checkpointPath) == nil && !RejectedSpoolFile(folder: kept).exists {
                try moveRejected(spool: spool, to: kept)
            }
        }
    }

    private func unusedName(_ base: String) -> String {
        var name = base
        var number = 1
        while Files.exists(keptFolder + "/" + name) {
            number += 1
            name = base + "-\(number)"
        }
        return name
    }

    private var rejectedFolder: String { rejected.folder }

    /// Opens the rejected spool's file again after it was renamed (this process's descriptor
    /// still points at the old file), positioned at its end.
    private func reopenRejected() throws(SpoolError) {
        let reopened: FileDescriptor
        do { reopened = try .create(rejectedPath, truncating: false) } catch {
            throw .cannotCreate(path: rejectedPath, error: error)
        }
        rejectedFile.close()
        rejectedFile = reopened
        do { try rejectedFile.seekToEnd() } catch { throw .cannotWrite(path: rejectedPath, error: error) }
    }

    /// Appends rejected records; they are synced before the checkpoint that counts them.
    func appendRejected(_ lines: [UInt8]) throws(SpoolError) {
        try Files.writeAll(rejectedFile, rejected.encoded(lines, by: encoder), path: rejectedPath)
    }

    /// Saves a checkpoint: the rejected records it counts are synced first, then the
    /// checkpoint is written aside, synced and renamed into place.
    func save(_ next: ReplayCheckpoint) throws(SpoolError) {
        try Files.sync(rejectedFile, path: rejectedPath)
        try DurableFiles.replace(checkpointPath, with: next.json)
        checkpoint = next
    }

    /// A requeue's commit: `kept` (the rejected spool without the requeued records) is
    /// written under a hidden name and synced; the checkpoint naming it is the commit
    /// point; the rename follows (and is finished by the next open after a kill).
    func commitRequeue(kept: [UInt8], checkpoint next: ReplayCheckpoint) throws(SpoolError) {
        let name = "." + rejected.name + ".requeue-\(next.requeuedTotal)"
        let hiddenPath = rejectedFolder + "/" + name
        try DurableFiles.write(rejected.encoded(kept, by: encoder), to: hiddenPath)
        CrashPoint.reach(.requeueWritten, commit: next.requeuedTotal)
        var committed = next
        committed.rejectedRewrite = name
        committed.rejectedBytes = kept.count
        try save(committed)
        CrashPoint.reach(.requeueCommitted, commit: next.requeuedTotal)
        try DurableFiles.move(hiddenPath, to: rejectedPath)
        try reopenRejected()
    }
}
