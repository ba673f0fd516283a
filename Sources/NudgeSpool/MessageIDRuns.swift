import NudgeCore
import NudgeSystem

/// The spool's saved `messageId`s: sorted runs on disk in `state/message-ids/`, each
/// holding the ids of a range of commits, the ranges one after another from commit 1.
/// An ``IdentityState`` asks them about every id its own table of recent ids lacks.
///
/// Saving the recent ids writes them as a new run (crash-safe: aside, synced, renamed);
/// runs are then merged two at a time while the newer is at least half the size of
/// the one before, so there are about log₂(ids ÷ run size) of them. A merge puts the
/// merged run in place before it removes the two; a kill between leaves all three, and
/// the next open removes the two that the merged one covers.
package final class MessageIDRuns: SavedMessageIDs, @unchecked Sendable {
    // @unchecked Sendable: used by one thread at a time (the one deciding records, which
    // also saves runs between commits); `block` is that thread's read buffer.
    package let folder: String
    /// The memory the runs' filters may take, and when recent ids are saved.
    package let budget: MessageIDBudget
    private var runs: [MessageIDRun] = []
    private let block = UnsafeMutableRawBufferPointer.allocate(byteCount: MessageIDRun.blockIDs * 16, alignment: 16)

    /// The last commit whose ids the runs hold (0: none).
    package var throughCommit: Int { runs.last?.lastCommit ?? 0 }
    package var count: Int { runs.reduce(0) { $0 + $1.count } }
    package var memoryBytes: Int { runs.reduce(block.count) { $0 + $1.memoryBytes } }
    package var diskBytes: Int { runs.reduce(0) { $0 + $1.fileBytes } }
    /// How many runs hold the ids.
    package var runCount: Int { runs.count }

    /// Opens the runs in `folder` (created if missing) with filters sized by `budget`.
    /// With `repairing` (the spool's lock held), removes the runs an interrupted merge
    /// left beside the merged one, noting it in `notes`; without, only reads.
    package init(
        folder: String, budget: MessageIDBudget, lastCommit: Int, repairing: Bool, notes: inout [String]
    ) throws(SpoolError) {
        self.folder = folder
        self.budget = budget
        // A run left aside by a kill (`.….ids.partial`) is not a run; the spool's
        // recovery removes it.
        if repairing { try Files.makeDirectory(folder) }
        let found = Files.names(in: folder).compactMap { name in
            MessageIDRun.commits(ofFileName: name).map { (name: name, first: $0.first, last: $0.last) }
        }.sorted { $0.first != $1.first ? $0.first < $1.first : $0.last > $1.last }
        var chosen: [(name: String, first: Int, last: Int)] = []
        var superseded: [String] = []
        for run in found {
            let covered = chosen.last?.last ?? 0
            if run.last <= covered {
                superseded.append(run.name)  // a merge's input, the merge in place
            } else if run.first == covered + 1 {
                chosen.append(run)
            } else {
                throw .damaged(path: folder + "/" + run.name, problem: "its commits \(run.first)–\(run.last) do not follow "
                               + "commit \(covered), the last the runs before it hold")
            }
        }
        if let last = chosen.last, last.last > lastCommit {
            throw .damaged(path: folder + "/" + last.name, problem: "it holds message ids up to commit \(last.last), "
                           + "but the ledger ends at commit \(lastCommit)")
        }
        if repairing && !superseded.isEmpty {
            for name in superseded { Files.remove(folder + "/" + name) }
            try DurableFiles.syncFolder(folder)
            notes.append("finished merging saved message ids: removed \(superseded.count) merged run"
                         + (superseded.count == 1 ? "" : "s"))
        }
        let total = chosen.reduce(0) { $0 + ((Files.size(of: folder + "/" + $1.name) ?? 0) / 16) }
        do {
            for run in chosen {
                runs.append(try MessageIDRun(path: folder + "/" + run.name, bitsPerID: budget.filterBitsPerID(total: total)))
            }
        } catch {
            closeRuns()
            throw error
        }
    }

    deinit {
        closeRuns()
        block.deallocate()
    }

    private func closeRuns() {
        for run in runs { run.close() }
    }

    package func contains(_ key: Fingerprint) -> Bool {
        for run in runs where run.contains(key, block: block) { return true }
        return false
    }

    /// Saves `ids`, the ids of commits `throughCommit + 1 ... lastCommit`, as a new run,
    /// and merges runs as due. On return the ids are on disk and the caller may forget them.
    package func save(_ ids: FingerprintTable, throughCommit lastCommit: Int) throws(SpoolError) {
        guard ids.count > 0 else { return }
        precondition(lastCommit > throughCommit, "a run holds commits after those saved")
        var sorted: [Fingerprint] = []
        sorted.reserveCapacity(ids.count)
        ids.forEach { key, _ in sorted.append(key) }
        sorted.sort(by: MessageIDRun.precedes)
        let first = throughCommit + 1
        let path = folder + "/" + MessageIDRun.fileName(first: first, last: lastCommit)
        var next = 0
        _ = try DurableFiles.replace(path, writing: { (aside) throws(SpoolError) in
            try MessageIDRun.write(aside, first: first, last: lastCommit, count: sorted.count) { () throws(SpoolError) in
                defer { next += 1 }
                return next < sorted.count ? sorted[next] : nil
            }
        }, beforeRename: { CrashPoint.reach(.idsRunSynced, commit: lastCommit) })
        sorted = []
        runs.append(try MessageIDRun(path: path, bitsPerID: budget.filterBitsPerID(total: count + ids.count)))
        while runs.count >= 2 && runs[runs.count - 2].count <= 2 * runs[runs.count - 1].count {
            try mergeLastTwo()
        }
    }

    /// Merges the last two runs into one, in place of both.
    private func mergeLastTwo() throws(SpoolError) {
        let (older, newer) = (runs[runs.count - 2], runs[runs.count - 1])
        let path = folder + "/" + MessageIDRun.fileName(first: older.firstCommit, last: newer.lastCommit)
        let (olderFile, newerFile) = (try Files.open(older.path, for: .reading), try Files.open(newer.path, for: .reading))
        defer { olderFile.close(); newerFile.close() }
        var a = try MessageIDRun.Reader(file: olderFile, path: older.path)
        var b = try MessageIDRun.Reader(file: newerFile, path: newer.path)
        var (nextA, nextB) = (try a.next(), try b.next())
        _ = try DurableFiles.replace(path, writing: { (aside) throws(SpoolError) in
            let bytes = try MessageIDRun.write(aside, first: older.firstCommit, last: newer.lastCommit,
                                               count: older.count + newer.count) { () throws(SpoolError) in
                if let key = nextA, nextB.map({ MessageIDRun.precedes(key, $0) }) ?? true {
                    nextA = try a.next()
                    return key
                }
                guard let key = nextB else { return nil }
                nextB = try b.next()
                return key
            }
            // Both read whole: their checksums hold before the merge replaces them.
            try a.finish()
            try b.finish()
            return bytes
        })
        CrashPoint.reach(.idsMerged, commit: newer.lastCommit)
        Files.remove(older.path)
        Files.remove(newer.path)
        try DurableFiles.syncFolder(folder)
        older.close()
        newer.close()
        let total = count
        runs.removeLast(2)
        runs.append(try MessageIDRun(path: path, bitsPerID: budget.filterBitsPerID(total: total)))
    }
}
