import NudgeCore
import NudgeSpool
import NudgeSystem

// Foundation's JSON parser reads the checkpoint once, when a replay or requeue starts.
import struct Foundation.Data
import class Foundation.JSONSerialization

/// What `replay` has finished, in `SPOOL/replay/checkpoint.json`
/// (`schemas/replay-checkpoint.schema.json`): written to a temporary file, synced and
/// renamed, so a kill at any instant leaves the previous or the new one whole.
public struct ReplayCheckpoint: Sendable, Equatable {
    /// Every accepted record before this sequence is done (acknowledged or rejected),
    /// except those in ``requeued``.
    public var watermark = 0
    /// Done records at or after the watermark.
    public var done: Set<Int> = []
    /// Records before the watermark that `requeue` put back: the next replay sends them.
    public var requeued: Set<Int> = []
    /// Users whose latest identify Nudge rejected.
    public var rejectedUsers: Set<String> = []
    /// Length of `SPOOL/rejected/rejected.ndjson` that this checkpoint vouches for.
    public var rejectedBytes = 0
    /// A `requeue` commit: the rewritten rejected spool under its hidden name, which
    /// the next open renames over `rejected.ndjson` if a kill came first.
    public var rejectedRewrite: String?
    /// Totals over every replay of the spool.
    public var acknowledged = 0
    public var rejected = 0
    /// Records put back by `requeue`, over the spool's life.
    public var requeuedTotal = 0

    public init() {}

    var json: [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.value("version", 2)
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

    /// Reads a checkpoint of version 2, or of version 1 (before `requeue`).
    init?(json bytes: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let version = object["version"] as? Int, version == 1 || version == 2,
              let watermark = object["watermark"] as? Int, let done = object["done"] as? [Int],
              let users = object["rejected_users"] as? [String], let rejectedBytes = object["rejected_bytes"] as? Int,
              let acknowledged = object["acknowledged"] as? Int, let rejected = object["rejected"] as? Int
        else { return nil }
        self.watermark = watermark
        self.done = Set(done)
        self.rejectedUsers = Set(users)
        self.rejectedBytes = rejectedBytes
        self.acknowledged = acknowledged
        self.rejected = rejected
        if version == 2 {
            guard let requeued = object["requeued"] as? [Int], let total = object["requeued_total"] as? Int else { return nil }
            self.requeued = Set(requeued)
            self.requeuedTotal = total
            self.rejectedRewrite = object["rejected_rewrite"] as? String
        }
    }

    /// The checkpoint of `spool`, read without the lock and without changing anything
    /// (for `audit`); a fresh one when no replay has run.
    public static func saved(inSpool spool: String) throws(SpoolError) -> ReplayCheckpoint {
        let path = spool + "/replay/checkpoint.json"
        guard Files.size(of: path) != nil else { return ReplayCheckpoint() }
        guard let saved = ReplayCheckpoint(json: try Files.read(path)) else {
            throw .damaged(path: path, problem: "it is not a replay checkpoint this tool wrote")
        }
        return saved
    }

    /// The records of the rejected spool that this checkpoint vouches for, each its line
    /// (a `rejected-record`), read without the replay lock: a replay may be running.
    public func rejectedLines(inSpool spool: String) throws(SpoolError) -> [ArraySlice<UInt8>] {
        var path = spool + "/rejected/rejected.ndjson"
        if let rejectedRewrite, Files.size(of: spool + "/rejected/" + rejectedRewrite) != nil {
            path = spool + "/rejected/" + rejectedRewrite
        }
        guard Files.size(of: path) != nil else { return [] }
        return (try Files.read(path)).prefix(rejectedBytes).split(separator: 0x0A)
    }
}

/// `SPOOL/replay/` and `SPOOL/rejected/`: the checkpoint, the rejected spool and the
/// lock that keeps one replay (or requeue) per spool.
final class ReplayStore {
    let folder: String
    let rejectedPath: String
    private let lock: SpoolLock
    private var rejectedFile: FileDescriptor
    private(set) var checkpoint: ReplayCheckpoint

    var checkpointPath: String { folder + "/checkpoint.json" }

    init(spool: String, holderName: String = "replay") throws(SpoolError) {
        folder = spool + "/replay"
        try Files.makeDirectory(folder)
        try Files.makeDirectory(spool + "/rejected")
        lock = try SpoolLock(path: folder + "/lock", spool: spool, holderName: holderName)
        Files.remove(folder + "/.checkpoint.json.partial")
        checkpoint = try ReplayCheckpoint.saved(inSpool: spool)
        rejectedPath = spool + "/rejected/rejected.ndjson"
        // A requeue committed (its checkpoint names the rewritten file) and was killed
        // before the rename: finish it. A rewrite the checkpoint does not name never
        // committed: remove it.
        for name in Files.names(in: spool + "/rejected") where name.hasPrefix(".") {
            let path = spool + "/rejected/" + name
            if name == checkpoint.rejectedRewrite {
                try Files.rename(path, rejectedPath)
                try Files.syncDirectory(spool + "/rejected")
            } else {
                Files.remove(path)
            }
        }
        do { rejectedFile = try .create(rejectedPath, truncating: false) } catch {
            throw .cannotCreate(path: rejectedPath, error: error)
        }
        // Entries written after the last checkpoint are written again by this replay.
        let size = Files.size(of: rejectedPath) ?? 0
        guard size >= checkpoint.rejectedBytes else {
            throw .damaged(path: rejectedPath, problem: "it is \(size) bytes, shorter than the \(checkpoint.rejectedBytes) "
                           + "the checkpoint vouches for")
        }
        do {
            try rejectedFile.truncate(to: checkpoint.rejectedBytes)
            try rejectedFile.seek(to: checkpoint.rejectedBytes)
        } catch {
            throw .cannotWrite(path: rejectedPath, error: error)
        }
    }

    deinit {
        rejectedFile.close()
    }

    /// Appends rejected records; they are synced before the checkpoint that counts them.
    func appendRejected(_ lines: [UInt8]) throws(SpoolError) {
        try Files.writeAll(rejectedFile, lines, path: rejectedPath)
    }

    /// Saves a checkpoint: the rejected records it counts are synced first, then the
    /// checkpoint is written aside, synced and renamed into place.
    func save(_ next: ReplayCheckpoint) throws(SpoolError) {
        try Files.sync(rejectedFile, path: rejectedPath)
        let temporary = folder + "/.checkpoint.json.partial"
        let file = try Files.create(temporary)
        defer { file.close() }
        try Files.writeAll(file, next.json, path: temporary)
        try Files.sync(file, path: temporary)
        try Files.rename(temporary, checkpointPath)
        try Files.syncDirectory(folder)
        checkpoint = next
    }

    /// A requeue's commit: `kept` (the rejected spool without the requeued records) is
    /// written under a hidden name and synced; the checkpoint naming it is the commit
    /// point; the rename follows (and is finished by the next open after a kill).
    func commitRequeue(kept: [UInt8], checkpoint next: ReplayCheckpoint) throws(SpoolError) {
        let name = ".rejected.ndjson.requeue-\(next.requeuedTotal)"
        let rejectedFolder = String(rejectedPath.dropLast("/rejected.ndjson".count))
        let hiddenPath = rejectedFolder + "/" + name
        let file = try Files.create(hiddenPath)
        do {
            defer { file.close() }
            try Files.writeAll(file, kept, path: hiddenPath)
            try Files.sync(file, path: hiddenPath)
        }
        CrashPoint.reach(.requeueWritten, commit: next.requeuedTotal)
        var committed = next
        committed.rejectedRewrite = name
        committed.rejectedBytes = kept.count
        try save(committed)
        CrashPoint.reach(.requeueCommitted, commit: next.requeuedTotal)
        try Files.rename(hiddenPath, rejectedPath)
        try Files.syncDirectory(rejectedFolder)
        // This process's descriptor still points at the old file.
        let reopened = try Files.open(rejectedPath, for: .writing)
        rejectedFile.close()
        rejectedFile = reopened
        do { try rejectedFile.seekToEnd() } catch { throw .cannotWrite(path: rejectedPath, error: error) }
    }
}
