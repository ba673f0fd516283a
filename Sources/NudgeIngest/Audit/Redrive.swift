import NudgeCore
import NudgeSpool
import NudgeSystem

/// `nudge-ingest redrive`: decides selected dropped records again against the spool's
/// current identity state and moves those now accepted to the accepted spool.
///
/// Typically tracks dropped as `not_identified` whose user's identify came in a later
/// export (Segment files events by the day it received them). Only the reasons a later
/// state can change are decided again: `not_identified` and `anonymous_only` tracks
/// whose whole line was kept. Every other record, and every one still dropped, stays
/// where it is with its reason.
///
/// A redrive is one commit, as crash-safe as a run's: the moved records go to
/// `accepted/NNNNNNNN.ndjson.gz` of a new commit N, and each dropped file that loses
/// records is rewritten without them, under a hidden name, then renamed over the old
/// one after N's ledger line. Killed before that line, nothing happened; after it, the
/// next open finishes the renames. Each record is in exactly one spool before and
/// after, and `replay` delivers commit N like any other.
public enum Redrive {
    /// The drop reasons that a later identity state can change.
    package static let redecidable: [ReasonCode] = [.notIdentified, .anonymousOnly]

    /// Redrives the records `filter` selects; with `dryRun`, only counts what would move.
    public static func run(
        spool directory: String, filter: AuditFilter, dryRun: Bool = false, progress: ScanProgress? = nil
    ) throws(AuditError) -> RedriveSummary {
        let started = MonotonicClock.now
        let (spool, state) = try RedrivePass.open(directory)
        var pass = RedrivePass(spool: spool, directory: directory, state: state, filter: filter, dryRun: dryRun)
        do throws(AuditError) {
            try pass.begin()
            try pass.redecideSelected(progress: progress)
            try pass.commit()
        } catch {
            // Nothing was committed: what a crash would leave, the next open removes.
            pass.discard()
            throw error
        }
        var summary = pass.summary
        summary.elapsedSeconds = MonotonicClock.now - started
        return summary
    }

    /// Whether `redrive` decides `drop` again: a redecidable track whose whole line was
    /// kept, selected by `filter`.
    static func isRedecidable(_ drop: ScannedDrop, _ filter: AuditFilter) -> Bool {
        redecidable.contains(drop.record.reason) && !drop.record.rawTruncated && drop.type == "track"
            && filter.matches(drop)
    }

    /// Runs a write step, its failure reported as a failed write.
    fileprivate static func writing<T>(_ step: () throws(SpoolError) -> T) throws(AuditError) -> T {
        do { return try step() } catch { throw .writing(error) }
    }
}

/// One redrive, step by step: open the spool and its state, begin the commit, decide
/// the selected drops again as the dropped spool is read (each moved record to the new
/// commit's accepted file, each dropped file that loses records rewritten without
/// them), then commit, or discard everything.
private struct RedrivePass: ~Copyable {
    let spool: Spool
    let commitNumber: Int
    let filter: AuditFilter
    let dryRun: Bool
    let writer: SpoolWriter
    let rewriting: RewrittenFiles
    var state: IdentityState
    var stage: RecordStage
    var summary: RedriveSummary
    /// What a dry run accepts, and what stays dropped (kept where it is): not written.
    var scratchAccepted = OutputBuffer(capacity: 1 << 16)
    var stillDropped = OutputBuffer(capacity: 1 << 16)
    /// Moved records by input file, in the order the files were first seen.
    var movedBySource: [String: Int] = [:]
    var sourceOrder: [String] = []
    var filesLosingRecords = Set<Int>()
    var source = SourceFile(path: "")

    /// The spool at `directory` and its identity state.
    static func open(_ directory: String) throws(AuditError) -> (Spool, IdentityState) {
        do {
            let spool = try Spool(directory: directory)
            return (spool, try spool.loadState())
        } catch {
            throw .spool(error)
        }
    }

    init(spool: Spool, directory: String, state: IdentityState, filter: AuditFilter, dryRun: Bool) {
        self.spool = spool
        self.state = state
        commitNumber = spool.ledger.lastCommit + 1
        self.filter = filter
        self.dryRun = dryRun
        writer = SpoolWriter(directory: directory)
        rewriting = RewrittenFiles(folder: directory + "/dropped", commit: commitNumber, files: spool.ledger.droppedFiles)
        stage = RecordStage(maxLineBytes: Int.max, state: state, isRedeciding: true)
        summary = RedriveSummary(spool: directory, dryRun: dryRun)
    }

    func begin() throws(AuditError) {
        guard !dryRun else { return }
        try Redrive.writing { () throws(SpoolError) in try writer.begin(commit: commitNumber) }
    }

    /// Reads the dropped spool once: decides the selected records again and, unless a
    /// dry run, writes each record to its rewrite (kept) or leaves it out (moved).
    mutating func redecideSelected(progress: ScanProgress?) throws(AuditError) {
        var scan = DroppedSpoolScan(spool: summary.spool, ledger: spool.ledger)
        progress?.begin(totalBytes: spool.ledger.droppedFiles.reduce(0) { $0 + $1.bytes })
        scan.lines.progress = progress
        try scan.forEach { (drop) throws(AuditError) -> Bool in
            if drop.commit != rewriting.current?.file.commit {
                try Redrive.writing { () throws(SpoolError) in try rewriting.finishFile() }
            }
            let moved = redecide(drop)
            guard !dryRun else { return true }
            try Redrive.writing { () throws(SpoolError) in
                if moved {
                    try rewriting.drop(drop)
                } else {
                    try rewriting.keep(drop)
                }
                try writer.flushIfNeeded()
            }
            return true
        }
        try Redrive.writing { () throws(SpoolError) in try rewriting.finishFile() }
    }

    /// `stage`'s decision on `event`. Its own function, so that the closure that lends the
    /// event's bytes captures these arguments, not the whole pass: the stage and the two
    /// buffers are then separate variables, not overlapping accesses to `self`.
    private static func decide(
        _ event: [UInt8], line: Int, source: SourceFile, with stage: inout RecordStage,
        accepted: inout OutputBuffer, dropped: inout OutputBuffer
    ) -> RecordDecision {
        event.withUnsafeBytes { stage.decide(event: $0, line: line, source: source, accepted: &accepted, dropped: &dropped) }
    }

    /// Decides `drop` again if it is selected; returns whether it is accepted now (its
    /// record then written to the new commit, unless a dry run).
    mutating func redecide(_ drop: ScannedDrop) -> Bool {
        guard Redrive.isRedecidable(drop, filter), let raw = JSONMembers.decodedString(drop.bytes, drop.record.raw) else {
            return false
        }
        summary.selected += 1
        let file = drop.file
        if file != source.path { source = SourceFile(path: file) }
        let writer = self.writer  // a reference: its buffer is not part of this pass's storage
        let decision = dryRun
            ? Self.decide(raw, line: drop.record.line, source: source, with: &stage,
                          accepted: &scratchAccepted, dropped: &stillDropped)
            : Self.decide(raw, line: drop.record.line, source: source, with: &stage,
                          accepted: &writer.accepted, dropped: &stillDropped)
        scratchAccepted.removeAll()
        stillDropped.removeAll()
        guard decision.outcome.isAccepted else { return false }
        summary.moved[drop.reason.index] += 1
        if movedBySource[file] == nil { sourceOrder.append(file) }
        movedBySource[file, default: 0] += 1
        filesLosingRecords.insert(drop.commit)
        return true
    }

    /// Commits the moved records and the rewritten files as one commit; a dry run, or a
    /// redrive that moved nothing, leaves the spool as it was.
    mutating func commit() throws(AuditError) {
        let change = RedriveChange(
            replaced: rewriting.replaced,
            sources: sourceOrder.map { RedriveChange.Source(path: $0, moved: movedBySource[$0]!) })
        summary.filesRewritten = filesLosingRecords.count
        guard !dryRun && change.moved > 0 else { return discard() }
        try Redrive.writing { () throws(SpoolError) in
            try spool.commit([], writer: writer, state: &state, redrive: change)
        }
        summary.commit = commitNumber
    }

    /// Removes what the redrive wrote; nothing was committed.
    func discard() {
        writer.discard()
        rewriting.discard()
    }
}

/// The dropped files a redrive rewrites: each is copied without its moved records to
/// `dropped/.KKKKKKKK.ndjson.gz.redrive-NNNNNNNN.partial` (`.ndjson` for a file written
/// uncompressed, which stays so), starting at its first moved record, and synced. What
/// comes before that record is copied as it is: the bytes of a plain file; the whole
/// members of a compressed one, then the records of the member that holds it, which
/// are compressed again with the rest into members cut as ``SpoolWriter`` cuts them.
private final class RewrittenFiles {
    let folder: String
    let commit: Int
    /// The committed dropped files, by commit.
    let files: [Int: CommittedFile]
    /// The file being read, and its rewrite once one of its records moved.
    private(set) var current: (file: CommittedFile, moved: Int, rewrite: AsideFile?)?
    private var buffer = OutputBuffer(capacity: 1 << 20)
    private var member = OutputBuffer(capacity: 1 << 20)
    private lazy var encoder = SpoolMemberEncoder()
    private(set) var replaced: [RedriveChange.Replaced] = []

    init(folder: String, commit: Int, files: [CommittedFile]) {
        self.folder = folder
        self.commit = commit
        self.files = Dictionary(uniqueKeysWithValues: files.map { ($0.commit, $0) })
    }

    /// A record that stays dropped: copied when its file is being rewritten.
    func keep(_ drop: ScannedDrop) throws(SpoolError) {
        if current == nil { current = (files[drop.commit]!, 0, nil) }
        guard current!.rewrite != nil else { return }
        buffer.append(drop.bytes)
        buffer.append(0x0A)
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// A record that moved: left out of the rewrite, which starts here if it has not.
    func drop(_ drop: ScannedDrop) throws(SpoolError) {
        if current == nil || current!.rewrite == nil {
            let file = files[drop.commit]!
            let path = folder + "/" + file.name
            // Renamed over the old file by the spool, once this redrive is committed.
            let aside = folder + "/" + LedgerEntry.replacementFileName(of: file.commit, compressed: file.compressed, by: commit)
            current = (file, 0, try AsideFile(replacing: path, aside: aside))
            if file.compressed {
                try copyCompressed(from: path, file, upTo: drop.lineOffset)
            } else {
                try current!.rewrite!.copy(from: path, bytes: drop.lineOffset)
            }
        }
        current!.moved += 1
    }

    /// Copies the members of `file` (at `path`) that end at or before record byte
    /// `offset`, and puts the records of the next one before `offset` in the buffer.
    private func copyCompressed(from path: String, _ file: CommittedFile, upTo offset: Int) throws(SpoolError) {
        let descriptor: FileDescriptor
        do { descriptor = try .open(path, for: .reading) } catch { throw .cannotRead(path: path, error: error) }
        defer { descriptor.close() }
        var reader = SpoolMemberReader(path: path, descriptor: descriptor, fileBytes: file.bytes)
        let members: [SpoolMemberReader.Member]
        do { members = try reader.members() } catch { throw error.spoolError }
        let whole = members.prefix { $0.inflatedOffset + $0.header.inflatedBytes <= offset }
        try current!.rewrite!.copy(from: path, bytes: whole.last.map { $0.offset + $0.header.memberBytes } ?? 0)
        guard whole.count < members.count else { return }
        let next = members[whole.count]
        var records: [UInt8] = []
        do { try reader.inflate(next.header, at: next.offset, appendingTo: &records) } catch { throw error.spoolError }
        records.withUnsafeBytes { buffer.append(UnsafeRawBufferPointer(rebasing: $0[..<(offset - next.inflatedOffset)])) }
    }

    /// Writes what the buffer holds: all of it to a plain rewrite; every whole member
    /// (the rest too when `ending`) to a compressed one.
    private func flush(ending: Bool = false) throws(SpoolError) {
        guard let rewrite = current, rewrite.rewrite != nil, !buffer.isEmpty else { return }
        guard rewrite.file.compressed else {
            try buffer.withBytes { (bytes) throws(SpoolError) in try current!.rewrite!.write(bytes) }
            buffer.removeAll()
            return
        }
        while let end = buffer.withBytes({ SpoolMember.end(of: $0, inflatedBytes: SpoolMember.defaultInflatedBytes) })
                ?? (ending && !buffer.isEmpty ? buffer.count : nil) {
            member.removeAll()
            let encoder = self.encoder
            buffer.withBytes(in: 0..<end) { records in
                member.appendUnsafe(maximum: SpoolMember.bound(inflatedBytes: end)) { encoder.compress(records, into: $0) }
            }
            try member.withBytes { (bytes) throws(SpoolError) in try current!.rewrite!.write(bytes) }
            buffer.removeFirst(end)
        }
    }

    /// Completes the rewrite of the file being read, if any: written, synced, listed.
    func finishFile() throws(SpoolError) {
        defer { current = nil }
        guard let rewrite = current, rewrite.rewrite != nil else { return }
        try flush(ending: true)
        try current!.rewrite!.sync()
        replaced.append(.init(commit: rewrite.file.commit, droppedBytes: current!.rewrite!.bytesWritten,
                              moved: rewrite.moved))
    }

    /// Removes every rewrite (nothing was committed).
    func discard() {
        current?.rewrite?.discard()
        current = nil
        buffer.removeAll()
        for file in replaced {
            let compressed = files[file.commit]!.compressed
            Files.remove(folder + "/" + LedgerEntry.replacementFileName(of: file.commit, compressed: compressed, by: commit))
        }
    }
}
