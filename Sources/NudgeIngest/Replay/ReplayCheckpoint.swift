// Foundation's JSON parser reads the checkpoint once, when a replay starts.
import Foundation

/// What `replay` has finished, saved after every answer in `SPOOL/replay/checkpoint.json`
/// (`schemas/replay-checkpoint.schema.json`): written to a temporary file, synced and
/// renamed, so a kill at any instant leaves the previous or the new one whole.
public struct ReplayCheckpoint: Sendable, Equatable {
    /// Every accepted record before this sequence is done (acknowledged or rejected).
    public var watermark = 0
    /// Done records at or after the watermark.
    public var done: Set<Int> = []
    /// Users whose latest identify Nudge rejected.
    public var rejectedUsers: Set<String> = []
    /// Length of `SPOOL/rejected/rejected.ndjson` that this checkpoint vouches for.
    public var rejectedBytes = 0
    /// Totals over every replay of the spool.
    public var acknowledged = 0
    public var rejected = 0

    public init() {}

    var json: [UInt8] {
        var out = ByteBuffer(capacity: 256)
        out.append(utf8: "{\"version\":1,\"watermark\":\(watermark),\"done\":[")
        out.append(utf8: done.sorted().map(String.init).joined(separator: ","))
        out.append(utf8: "],\"rejected_users\":[")
        for (i, user) in rejectedUsers.sorted().enumerated() {
            if i > 0 { out.append(0x2C) }
            // The ext_id's text as the spool holds it (escapes included), as a JSON
            // string: it reads back exactly, whatever escapes it has.
            JSONOutput.appendString(user, to: &out)
        }
        out.append(utf8: "],\"rejected_bytes\":\(rejectedBytes),\"acknowledged\":\(acknowledged),\"rejected\":\(rejected)}\n")
        return out.bytes
    }

    init?(json bytes: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              object["version"] as? Int == 1,
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
    }
}

/// `SPOOL/replay/` and `SPOOL/rejected/`: the checkpoint, the rejected spool and the
/// lock that keeps one replay per spool.
final class ReplayStore {
    let folder: String
    let rejectedPath: String
    private let lock: SpoolLock
    private var rejectedFile: Int32
    private(set) var checkpoint: ReplayCheckpoint

    var checkpointPath: String { folder + "/checkpoint.json" }

    init(spool: String) throws(SpoolError) {
        folder = spool + "/replay"
        try Files.makeDirectory(folder)
        try Files.makeDirectory(spool + "/rejected")
        lock = try SpoolLock(path: folder + "/lock", spool: spool, holderName: "replay")
        unlink(folder + "/.checkpoint.json.partial")
        checkpoint = ReplayCheckpoint()
        if Files.size(of: folder + "/checkpoint.json") != nil {
            guard let bytes = Files.read(folder + "/checkpoint.json"), let saved = ReplayCheckpoint(json: bytes) else {
                throw .damaged(path: folder + "/checkpoint.json", problem: "it is not a replay checkpoint this tool wrote")
            }
            checkpoint = saved
        }
        rejectedPath = spool + "/rejected/rejected.ndjson"
        rejectedFile = open(rejectedPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard rejectedFile >= 0 else { throw .cannotCreate(path: rejectedPath, errno: errno) }
        // Entries written after the last checkpoint are written again by this replay.
        let size = Files.size(of: rejectedPath) ?? 0
        guard size >= checkpoint.rejectedBytes else {
            throw .damaged(path: rejectedPath, problem: "it is \(size) bytes, shorter than the \(checkpoint.rejectedBytes) "
                           + "the checkpoint vouches for")
        }
        guard ftruncate(rejectedFile, off_t(checkpoint.rejectedBytes)) == 0,
              lseek(rejectedFile, off_t(checkpoint.rejectedBytes), SEEK_SET) >= 0
        else { throw .cannotWrite(path: rejectedPath, errno: errno) }
    }

    deinit {
        close(rejectedFile)
    }

    /// Appends rejected records and syncs them (before the checkpoint that counts them).
    func appendRejected(_ lines: [UInt8]) throws(SpoolError) {
        try Files.writeAll(rejectedFile, lines, path: rejectedPath)
        try Files.sync(rejectedFile, path: rejectedPath)
        checkpoint.rejectedBytes += lines.count
    }

    /// Saves the scheduler's progress and the totals.
    func save(watermark: Int, done: Set<Int>, rejectedUsers: Set<String>, acknowledged: Int, rejected: Int) throws(SpoolError) {
        checkpoint.watermark = watermark
        checkpoint.done = done
        checkpoint.rejectedUsers = rejectedUsers
        checkpoint.acknowledged += acknowledged
        checkpoint.rejected += rejected
        let temporary = folder + "/.checkpoint.json.partial"
        let fd = try Files.create(temporary)
        defer { close(fd) }
        try Files.writeAll(fd, checkpoint.json, path: temporary)
        try Files.sync(fd, path: temporary)
        try Files.rename(temporary, checkpointPath)
        try Files.syncDirectory(folder)
    }
}
