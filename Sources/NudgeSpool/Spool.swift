import NudgeCore
import NudgeSystem

/// A spool directory opened for a run: locked, recovered from any interrupted run,
/// with its ledger read. It loads the identity state and commits inputs.
///
/// ```
/// SPOOL/accepted/NNNNNNNN.ndjson.gz  records of commit N, gzip members (no file when none;
/// SPOOL/dropped/NNNNNNNN.ndjson.gz   `.ndjson`, plain, for commits before compression)
/// SPOOL/state/ledger.ndjson        one line per commit: the commit point
/// SPOOL/state/snapshot             the identity state as of some commit S
/// SPOOL/state/NNNNNNNN.journal     what commit N (> S) changed in it
/// SPOOL/state/lock                 held (flock) by the run using the spool
/// SPOOL/state/message-ids/A-B.ids  the message ids of commits A…B, sorted (``MessageIDRuns``)
/// ```
///
/// A commit writes and syncs its spool files and journal under hidden names, renames
/// them into place, syncs the folders, and appends its ledger line last. Whatever the
/// instant a run is killed, the next open finds a ledger whose lines are whole
/// commits, removes the files of the one commit that did not finish, and continues
/// from the state of the last commit.
package final class Spool {
    package let directory: String
    package private(set) var ledger: Ledger
    /// What opening the spool repaired, for the run's report.
    package private(set) var notes: [String] = []
    private let lock: SpoolLock
    /// The commit the snapshot holds (0: no snapshot), its size, and the journals since.
    private var snapshotCommit = 0
    private var snapshotBytes = 0
    private var journalsSinceSnapshot = 0
    private var journalBytesSinceSnapshot = 0
    /// The saved message ids the last ``loadState(messageIDBudget:)`` opened, with its budget.
    package private(set) var messageIDRuns: MessageIDRuns?

    var acceptedFolder: String { directory + "/accepted" }
    var droppedFolder: String { directory + "/dropped" }
    var stateFolder: String { directory + "/state" }
    var snapshotPath: String { stateFolder + "/snapshot" }
    func journalPath(_ commit: Int) -> String { stateFolder + "/" + LedgerEntry.journalFileName(commit) }
    var messageIDFolder: String { stateFolder + "/message-ids" }

    /// Opens (creating it if needed) and locks the spool at `directory`, and recovers it.
    package init(directory: String) throws(SpoolError) {
        self.directory = directory
        for folder in [directory, directory + "/accepted", directory + "/dropped", directory + "/state"] {
            try Files.makeDirectory(folder)
        }
        lock = try SpoolLock(path: directory + "/state/lock", spool: directory)
        let ledgerPath = directory + "/state/ledger.ndjson"
        if Files.size(of: ledgerPath) != nil {
            ledger = try Ledger.load(ledgerPath, notes: &notes)
        } else {
            let foreign = [directory + "/accepted", directory + "/dropped"].flatMap { Files.names(in: $0) }
                .filter { $0.hasSuffix(".ndjson") || $0.hasSuffix(".ndjson.gz") }
            guard foreign.isEmpty && Files.size(of: directory + "/state/snapshot") == nil else {
                throw .damaged(path: ledgerPath, problem: "the spool holds records but no ledger: it was written by "
                               + "an earlier version of nudge-ingest, or its ledger was deleted")
            }
            ledger = try Ledger.create(ledgerPath)
            try DurableFiles.syncFolder(stateFolder)
        }
        try recover()
    }

    /// Removes what an interrupted commit or compaction left, and checks that every
    /// committed file is there with the size the ledger gave it.
    private func recover() throws(SpoolError) {
        let last = ledger.lastCommit
        var removed: [String] = []
        func removeUnfinished(_ path: String) {
            if Files.remove(path) { removed.append(path) }
        }
        if let header = try StateFile.peekCommit(snapshotPath) {
            guard header <= last else {
                throw .damaged(path: snapshotPath, problem: "it holds commit \(header), but the ledger ends at commit \(last)")
            }
            snapshotCommit = header
            snapshotBytes = Files.size(of: snapshotPath) ?? 0
        }
        if let last = ledger.entries.last, let redrive = last.redrive {
            let applied = try putReplacementsInPlace(redrive, of: last.commit)
            if applied > 0 {
                notes.append("finished redrive commit \(last.commit): \(applied) rewritten dropped file"
                             + "\(applied == 1 ? " was" : "s were") put in place")
            }
        }
        // A run of message ids written aside and never renamed: its ids are in the journals.
        _ = DurableFiles.removeLeftovers(in: messageIDFolder)
        for folder in [acceptedFolder, droppedFolder, stateFolder] {
            removed += DurableFiles.removeLeftovers(in: folder)
            for name in Files.names(in: folder) {
                let path = folder + "/" + name
                guard let commit = Self.commitNumber(of: name) else { continue }
                if commit == last + 1 {
                    removeUnfinished(path)
                } else if commit > last + 1 {
                    throw .damaged(path: ledger.path, problem: "it ends at commit \(last), but \(path) belongs to "
                                   + "commit \(commit): the ledger lost commits")
                } else if folder == stateFolder && commit <= snapshotCommit {
                    Files.remove(path)  // a journal the snapshot already holds
                }
            }
        }
        let droppedBytes = Dictionary(uniqueKeysWithValues: ledger.droppedFiles.map { ($0.commit, $0.bytes) })
        for entry in ledger.entries {
            let name = LedgerEntry.spoolFileName(entry.commit, compressed: entry.compressed)
            var expected = [(acceptedFolder + "/" + name, entry.acceptedBytes),
                            (droppedFolder + "/" + name, droppedBytes[entry.commit] ?? 0)]
            if entry.commit > snapshotCommit {
                expected.append((journalPath(entry.commit), entry.journalBytes))
                journalsSinceSnapshot += 1
                journalBytesSinceSnapshot += entry.journalBytes
            }
            for (path, bytes) in expected {
                let size = Files.size(of: path)
                guard size == (bytes == 0 && !path.hasSuffix(".journal") ? nil : bytes) else {
                    let found = size.map { "\($0) bytes" } ?? "no file"
                    throw .damaged(path: path, problem: "the ledger says commit \(entry.commit) wrote \(bytes) bytes "
                                   + "here, but there is \(found)")
                }
            }
        }
        if !removed.isEmpty {
            for folder in [acceptedFolder, droppedFolder, stateFolder] { try DurableFiles.syncFolder(folder) }
            notes.append("removed \(removed.count) file\(removed.count == 1 ? "" : "s") of an interrupted commit "
                         + "(commit \(last + 1)); its input will be processed again")
        }
    }

    /// Renames the dropped files redrive commit `commit` rewrote over the old ones (an
    /// empty one removes the old file instead) and syncs the folder: the last step of a
    /// redrive, done after its commit point, again by recovery when a kill interrupted
    /// it. Returns how many were still to be put in place.
    private func putReplacementsInPlace(_ redrive: RedriveChange, of commit: Int) throws(SpoolError) -> Int {
        var applied = 0
        for file in redrive.replaced {
            let compressed = ledger.entries[file.commit - 1].compressed
            let partial = droppedFolder + "/" + LedgerEntry.replacementFileName(of: file.commit, compressed: compressed, by: commit)
            let path = droppedFolder + "/" + LedgerEntry.spoolFileName(file.commit, compressed: compressed)
            guard Files.size(of: partial) != nil else { continue }
            if file.droppedBytes == 0 {
                Files.remove(path)
                Files.remove(partial)
            } else {
                try DurableFiles.putInPlace(partial, at: path)
            }
            applied += 1
            if applied == 1 { CrashPoint.reach(.replacedOne, commit: commit) }
        }
        if applied > 0 { try DurableFiles.syncFolder(droppedFolder) }
        return applied
    }

    /// `NNNNNNNN.ndjson`, `NNNNNNNN.ndjson.gz` or `NNNNNNNN.journal` → N.
    static func commitNumber(of name: String) -> Int? {
        let digits = name.prefix(while: { $0.isASCII && $0.isNumber })
        guard digits.count == 8, [".ndjson", ".ndjson.gz", ".journal"].contains(String(name.dropFirst(8))) else { return nil }
        return Int(digits)
    }

    /// The identity state as of the last commit: the snapshot, then every journal since,
    /// with the saved message ids on disk and filters for them sized by `budget`.
    ///
    /// The message ids of commits the runs hold are left out of the state's own table.
    /// When the table holds more than the budget allows (a spool written before ids
    /// were saved in runs, or a smaller budget than last time), they are saved at once.
    package func loadState(messageIDBudget budget: MessageIDBudget = .default()) throws(SpoolError) -> IdentityState {
        let runs = try MessageIDRuns(folder: messageIDFolder, budget: budget, lastCommit: ledger.lastCommit,
                                     repairing: true, notes: &notes)
        var state = try Self.loadState(stateFolder: stateFolder, snapshotCommit: snapshotCommit, through: ledger.lastCommit,
                                       savedThrough: runs.throughCommit)
        state.savedMessageIDs = runs
        messageIDRuns = runs
        try saveMessageIDsIfDue(&state)
        return state
    }

    /// `savedThrough`: the last commit whose message ids runs hold; the snapshot's ids
    /// are those of the commits after the runs' end when it was written, so they are
    /// left out when the runs now reach it.
    private static func loadState(
        stateFolder: String, snapshotCommit: Int, through last: Int, savedThrough: Int
    ) throws(SpoolError) -> IdentityState {
        var files: [StateFile.Part] = []
        if snapshotCommit > 0 {
            files.append(.init(path: stateFolder + "/snapshot", kind: .snapshot, commit: snapshotCommit,
                               messageIDs: savedThrough < snapshotCommit))
        }
        for commit in stride(from: snapshotCommit + 1, through: last, by: 1) {
            files.append(.init(path: stateFolder + "/" + LedgerEntry.journalFileName(commit), kind: .journal,
                               commit: commit, messageIDs: commit > savedThrough))
        }
        var state = try StateFile.load(files)
        state.markChangesSaved()
        return state
    }

    /// Bytes of `state/` on disk: ledger, snapshot, journals and saved message ids.
    package var stateDiskBytes: Int {
        [stateFolder, messageIDFolder].reduce(0) { total, folder in
            Files.names(in: folder).filter { $0 != "message-ids" }.reduce(total) { $0 + (Files.size(of: folder + "/" + $1) ?? 0) }
        }
    }

    /// Whether the state's own table holds more message ids than the budget allows
    /// (see ``saveMessageIDsIfDue(_:)``).
    package func messageIDSaveIsDue(_ state: IdentityState) -> Bool {
        messageIDRuns.map { state.messageIDs.count >= $0.budget.recentIDs } ?? false
    }

    /// Saves the message ids in the state's own table as a run on disk, and empties the
    /// table, when it holds more than the budget allows. Every change of `state` must be
    /// committed (a caller that commits on another thread waits for it first): the run
    /// is named by the last commit. A failure leaves the ids in the table and the
    /// journals, so nothing is lost.
    package func saveMessageIDsIfDue(_ state: inout IdentityState) throws(SpoolError) {
        guard let runs = messageIDRuns, messageIDSaveIsDue(state) else { return }
        precondition(state.newMessageIDs.isEmpty, "only committed message ids are saved")
        try runs.save(state.messageIDs, throughCommit: ledger.lastCommit)
        state.messageIDs = FingerprintTable(storesValues: false)
    }

    /// The identity state as of the last commit of the spool at `directory`, read
    /// without the lock and without changing anything (what `preview` uses while a run
    /// may be committing). A run that compacts meanwhile replaces the snapshot and
    /// removes journals; the read then starts again from the new snapshot.
    package static func readState(
        directory: String, messageIDBudget budget: MessageIDBudget = .default()
    ) throws(SpoolError) -> IdentityState {
        var attempt = 0
        while true {
            let ledger = try Ledger.committed(inSpool: directory)
            let snapshotPath = directory + "/state/snapshot"
            let snapshotCommit = try StateFile.peekCommit(snapshotPath) ?? 0
            do throws(SpoolError) {
                guard snapshotCommit <= ledger.lastCommit else {
                    throw .cannotRead(path: snapshotPath, error: .staleFile)
                }
                var notes: [String] = []
                let runs = try MessageIDRuns(folder: directory + "/state/message-ids", budget: budget,
                                             lastCommit: ledger.lastCommit, repairing: false, notes: &notes)
                var state = try loadState(stateFolder: directory + "/state", snapshotCommit: snapshotCommit,
                                          through: ledger.lastCommit, savedThrough: runs.throughCommit)
                state.savedMessageIDs = runs
                return state
            } catch {
                attempt += 1
                if attempt == 3 { throw error }
            }
        }
    }

    /// Commits what `writer` holds and what `state` changed as commit N, for `inputs`:
    /// spool files and journal synced under hidden names, renamed into place, folders
    /// synced, then the ledger line appended and synced. Throws with nothing committed.
    ///
    /// A redrive commit passes `redrive`: the dropped files it rewrote must be written
    /// and synced under their hidden names (``LedgerEntry/replacementFileName(of:by:)``);
    /// they are renamed into place after the commit point, so a kill before it leaves
    /// the old files, and one after it is finished by the next open.
    package func commit(
        _ inputs: [LedgerInput], writer: SpoolWriter, state: inout IdentityState, redrive: RedriveChange? = nil
    ) throws(SpoolError) {
        let prepared = prepareCommit(ledger.lastCommit + 1, inputs, writer: writer, state: &state)
        try perform(prepared, redrive: redrive)
    }

    /// A commit whose records and journal are ready, to be made durable by
    /// ``perform(_:redrive:)``, on this thread or another.
    package struct PreparedCommit: @unchecked Sendable {
        // @unchecked Sendable: the writer is handed over whole; the thread that prepared
        // the commit no longer touches it until `perform` has returned.
        package let commit: Int
        let inputs: [LedgerInput]
        let writer: SpoolWriter
        let journal: [UInt8]
    }

    /// Takes what `state` changed since its last save as commit `commit`'s journal (in
    /// memory) and marks the changes saved, so the caller may go on changing `state`
    /// while the commit is performed. Counts the journal towards the next compaction,
    /// which ``compactionIsDue`` tells.
    package func prepareCommit(
        _ commit: Int, _ inputs: [LedgerInput], writer: SpoolWriter, state: inout IdentityState
    ) -> PreparedCommit {
        let journal = StateFile.journal(of: state, commit: commit)
        state.markChangesSaved()
        journalsSinceSnapshot += 1
        journalBytesSinceSnapshot += journal.count
        return PreparedCommit(commit: commit, inputs: inputs, writer: writer, journal: journal)
    }

    /// Makes a prepared commit durable, in commit order (the caller performs one at a
    /// time, each after the one before it returned). Throws with nothing of it committed.
    package func perform(_ prepared: PreparedCommit, redrive: RedriveChange? = nil) throws(SpoolError) {
        let (commit, writer) = (prepared.commit, prepared.writer)
        precondition(commit == ledger.lastCommit + 1, "commits are performed in order")
        let journalTemporary = DurableFiles.asidePath(of: journalPath(commit))
        do {
            let sizes = try writer.sync()
            try DurableFiles.write(prepared.journal, to: journalTemporary)
            let journalBytes = prepared.journal.count
            CrashPoint.reach(.synced, commit: commit)
            try writer.publish()
            try DurableFiles.putInPlace(journalTemporary, at: journalPath(commit))
            for folder in [acceptedFolder, droppedFolder, stateFolder] { try DurableFiles.syncFolder(folder) }
            CrashPoint.reach(.renamed, commit: commit)
            try ledger.append(LedgerEntry(
                commit: commit, committedAt: Timestamp.now.isoString, inputs: prepared.inputs, redrive: redrive,
                acceptedBytes: sizes.accepted, droppedBytes: sizes.dropped, journalBytes: journalBytes,
                compressed: writer.compressed))
            CrashPoint.reach(.committed, commit: commit)
        } catch {
            // Leave nothing of the commit visible; what a crash would leave, the next open removes.
            writer.discard()
            let name = LedgerEntry.spoolFileName(commit, compressed: writer.compressed)
            for path in [journalTemporary, journalPath(commit), acceptedFolder + "/" + name, droppedFolder + "/" + name] {
                Files.remove(path)
            }
            throw error
        }
        if let redrive {
            // Committed: a failure from here on is finished by the next open, never undone.
            _ = try putReplacementsInPlace(redrive, of: commit)
        }
    }

    /// Whether the journals prepared since the snapshot are worth compacting (see
    /// ``compactIfDue(_:)``). A caller that performs commits on another thread waits for
    /// them before compacting: the snapshot is of `state` as of the last commit.
    package var compactionIsDue: Bool {
        (journalsSinceSnapshot >= 32 && journalBytesSinceSnapshot >= snapshotBytes / 8)
            || journalBytesSinceSnapshot >= max(snapshotBytes, 64 << 20)
            || journalsSinceSnapshot >= 1024
    }

    /// Replaces the snapshot and its journals by one new snapshot when the journals are
    /// worth it: 32 of them holding at least an eighth of the snapshot's bytes, or as
    /// many bytes as the snapshot (at least 64 MB), or 1,024 of them. Loading then stays
    /// close to one read of the state, a commit stays one small journal, and a large
    /// state is not rewritten for a few small inputs. A failure leaves the journals, so
    /// nothing is lost; it is reported in `notes`.
    package func compactIfDue(_ state: IdentityState) {
        guard compactionIsDue else { return }
        let commit = ledger.lastCommit
        do throws(SpoolError) {
            let bytes = try DurableFiles.replace(snapshotPath, writing: { (aside) throws(SpoolError) in
                try StateFile.write(state, kind: .snapshot, commit: commit, to: aside)
            }, beforeRename: { CrashPoint.reach(.snapshotSynced, commit: commit) })
            CrashPoint.reach(.snapshotRenamed, commit: commit)
            for old in stride(from: snapshotCommit + 1, through: commit, by: 1) { Files.remove(journalPath(old)) }
            (snapshotCommit, snapshotBytes) = (commit, bytes)
            (journalsSinceSnapshot, journalBytesSinceSnapshot) = (0, 0)
        } catch {
            notes.append("the identity state could not be compacted into one snapshot (\(error)); "
                         + "its journals were kept, nothing is lost")
        }
    }
}

extension Spool {
    /// The ledger below a spool's folder: what makes a folder a spool (every spool
    /// has one from the moment it is first opened).
    package static let ledgerRelativePath = "state/ledger.ndjson"

    /// Whether the folder at `folder` is a spool: it holds a spool's ledger, or a replay
    /// checkpoint (a spool whose `state/` was removed to start over). A walk over an
    /// export never reads a spool's files as input.
    package static func holdsLedger(_ folder: [UInt8]) -> Bool {
        let base = folder + (folder.last == 0x2F ? [] : [0x2F])
        return [ledgerRelativePath, "replay/checkpoint.json"].contains { marker in
            (try? FileSystem.status(of: base + Array(marker.utf8), followingLinks: false))?.kind == .regular
        }
    }
}
