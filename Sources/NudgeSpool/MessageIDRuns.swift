import NudgeCore
import NudgeSystem

/// The spool's saved `messageId`s: sorted runs on disk in `state/message-ids/`, each
/// holding the ids of a range of commits, the ranges one after another from commit 1,
/// and in memory one filter over all of them. An ``IdentityState`` asks them about every
/// id its own table of recent ids lacks.
///
/// A lookup asks the filter first: a new id (nearly every id a run sees) costs that one
/// probe, a cache line. Only when the filter says maybe are the runs read, one 4 KiB
/// block of each at most. The filter is sized for half as many ids again as are saved;
/// when the saved ids outgrow it, it is built again, larger, from the runs (each run is
/// sorted, so that is a sequential sweep of the filter), until it reaches the budget.
///
/// Saving the recent ids writes them as a new run (crash-safe: aside, synced, renamed);
/// runs are then merged four at a time while the oldest of the last four is at most
/// twice the size of the newest, so each id is rewritten about log₄ times and there are
/// at most about three runs a size. A merge puts the merged run in place before it
/// removes the four; a kill between leaves all five, and the next open removes those
/// that the merged one covers.
package final class MessageIDRuns: SavedMessageIDs, @unchecked Sendable {
    // @unchecked Sendable: used by one thread at a time (the one deciding records, which
    // also saves runs between commits); `block` is that thread's read buffer.
    package let folder: String
    /// The memory the filter may take, and when recent ids are saved.
    package let budget: MessageIDBudget
    // Unchecked: one thread at a time (above), and the lookups are the hot path.
    @exclusivity(unchecked) private var runs: [MessageIDRun] = []
    @exclusivity(unchecked) private var filter = FingerprintFilter(count: 0, bitsPerKey: 0)
    /// Saved ids the filter was sized for; past it, the filter is built again.
    private var filterCapacity = 0
    private let block = UnsafeMutableRawBufferPointer.allocate(byteCount: MessageIDRun.blockIDs * 16, alignment: 16)
    /// Runs merged at once.
    static let mergeWidth = 4

    /// The last commit whose ids the runs hold (0: none).
    package var throughCommit: Int { runs.last?.lastCommit ?? 0 }
    package var count: Int { runs.reduce(0) { $0 + $1.count } }
    package var memoryBytes: Int { runs.reduce(block.count + filter.memoryBytes) { $0 + $1.memoryBytes } }
    /// Memory the filter alone takes.
    package var filterMemoryBytes: Int { filter.memoryBytes }
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
        sizeFilter(forSaved: total)
        do {
            for run in chosen {
                runs.append(try MessageIDRun(path: folder + "/" + run.name) { filter.insert($0) })
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
        guard filter.mayContain(key) else { return false }
        for run in runs where run.contains(key, block: block) { return true }
        return false
    }

    package func prefetch(_ key: Fingerprint) {
        filter.prefetch(key)
    }

    /// The filter's capacity for `saved` ids: half as many again.
    private static func filterCapacity(forSaved saved: Int) -> Int { max(1 << 16, saved + saved / 2) }

    /// An empty filter for `saved` ids and half as many again, at up to 10 bits an id
    /// within the budget.
    private func sizeFilter(forSaved saved: Int) {
        filterCapacity = Self.filterCapacity(forSaved: saved)
        filter = FingerprintFilter(count: filterCapacity, bitsPerKey: budget.filterBitsPerID(total: filterCapacity))
    }

    /// Makes the filter hold `ids` (in run order), built again from every run when the
    /// saved ids outgrow it and the budget allows a larger one.
    private func addToFilter(_ ids: [Fingerprint]) throws(SpoolError) {
        let saved = count
        if saved > filterCapacity {
            let capacity = Self.filterCapacity(forSaved: saved)
            let larger = FingerprintFilter.memoryBytes(count: capacity, bitsPerKey: budget.filterBitsPerID(total: capacity))
            guard larger > filter.memoryBytes else {
                // At the budget: the same filter takes the rest, saying maybe more often.
                filterCapacity = capacity
                for key in ids { filter.insert(key) }
                return
            }
            filter = FingerprintFilter(count: 0, bitsPerKey: 0)  // the old one's memory goes first
            sizeFilter(forSaved: saved)
            do {
                for run in runs { try run.forEach { filter.insert($0) } }
            } catch {
                // A filter missing ids would answer "never seen" wrongly; none says maybe.
                filter = FingerprintFilter(count: 0, bitsPerKey: 0)
                throw error
            }
            return
        }
        for key in ids { filter.insert(key) }
    }

    /// Saves `ids`, the ids of commits `throughCommit + 1 ... lastCommit`, as a new run,
    /// and merges runs as due. On return the ids are on disk and the caller may forget them.
    package func save(_ ids: FingerprintTable, throughCommit lastCommit: Int) throws(SpoolError) {
        guard ids.count > 0 else { return }
        precondition(lastCommit > throughCommit, "a run holds commits after those saved")
        let sorted = MessageIDRun.sorted(ids)
        let first = throughCommit + 1
        let path = folder + "/" + MessageIDRun.fileName(first: first, last: lastCommit)
        var next = 0
        let written = try DurableFiles.replace(path, writing: { (aside) throws(SpoolError) in
            try MessageIDRun.write(aside, first: first, last: lastCommit, count: sorted.count) { () throws(SpoolError) in
                defer { next += 1 }
                return next < sorted.count ? sorted[next] : nil
            }
        }, beforeRename: { CrashPoint.reach(.idsRunSynced, commit: lastCommit) })
        runs.append(try MessageIDRun(path: path, written: written))
        try addToFilter(sorted)
        let width = Self.mergeWidth
        while runs.count >= width && runs[runs.count - width].count <= 2 * runs[runs.count - 1].count {
            try mergeLast(width)
        }
    }

    /// Merges the last `width` runs into one, in place of them.
    private func mergeLast(_ width: Int) throws(SpoolError) {
        let merging = Array(runs.suffix(width))
        let (firstCommit, lastCommit) = (merging[0].firstCommit, merging[width - 1].lastCommit)
        let path = folder + "/" + MessageIDRun.fileName(first: firstCommit, last: lastCommit)
        var files: [FileDescriptor] = []
        defer { for file in files { file.close() } }
        var readers: [MessageIDRun.Reader] = []
        var heads: [Fingerprint?] = []
        for run in merging {
            files.append(try Files.open(run.path, for: .reading))
            readers.append(try MessageIDRun.Reader(file: files[files.count - 1], path: run.path))
            heads.append(try readers[readers.count - 1].next())
        }
        let written = try DurableFiles.replace(path, writing: { (aside) throws(SpoolError) in
            let written = try MessageIDRun.write(aside, first: firstCommit, last: lastCommit,
                                                 count: merging.reduce(0) { $0 + $1.count }) { () throws(SpoolError) in
                // The least of the heads (a few runs: a scan beats a heap).
                var least: Int?
                for index in heads.indices {
                    guard let key = heads[index] else { continue }
                    if let chosen = least, let other = heads[chosen], !MessageIDRun.precedes(key, other) { continue }
                    least = index
                }
                guard let index = least else { return nil }
                let key = heads[index]
                heads[index] = try readers[index].next()
                return key
            }
            // Every input read whole: their checksums hold before the merge replaces them.
            for reader in readers { try reader.finish() }
            return written
        })
        CrashPoint.reach(.idsMerged, commit: lastCommit)
        for run in merging { Files.remove(run.path) }
        try DurableFiles.syncFolder(folder)
        for run in merging { run.close() }
        runs.removeLast(width)
        runs.append(try MessageIDRun(path: path, written: written))
    }
}
