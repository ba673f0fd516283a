import Dispatch
import NudgeCore
import NudgeSpool
import NudgeSystem

/// What `nudge-ingest audit` reports about a spool: the dropped records by reason, by
/// type and event name, by input file and by day, with one example per reason
/// (`schemas/audit-report.schema.json`).
public struct AuditReport: Sendable {
    /// The spool directory audited, as given.
    public var spool: String
    /// Commits in the ledger (runs' inputs and redrives).
    public var commits: Int
    /// With `audit --file`: the inputs (or folders of them, `s3://` prefixes included)
    /// the report is limited to; empty for the whole spool.
    package var onlyFiles: [String] = []
    /// Records read from the committed inputs (the ledger's counts): `accepted` + `dropped`.
    public var records = 0
    /// Records in the accepted spool: the ledger's counts plus what `redrive` moved.
    public var accepted = 0
    /// Records in the dropped spool now (faults excluded).
    public var dropped = 0
    /// `corrupt_input` entries: input faults, not records.
    public var faults = 0
    /// Faulted inputs a later commit read whole (with `files`, of those inputs).
    package var resolvedFaults: [ResolvedFault] = []
    /// Faults no later commit has read whole: what still needs doing.
    public var unresolvedFaults: Int { max(faults - resolvedFaults.count, 0) }
    package var redriven = 0
    /// Every reason code, in rule order, with its count (zeros included).
    public var reasons: [ReasonCount] = []
    /// Dropped records by `type` and `event`, most first.
    public var events: [EventCount] = []
    /// The counts per input (`source.file`), in commit order.
    public var files: [FileCount] = []
    /// Dropped records by UTC day of their event, ascending, undated last.
    public var days: [DayCount] = []
    /// Disagreements between the ledger's counts and the dropped spool (damage).
    package var problems: [String] = []
    /// Wall-clock seconds the report took to make.
    public var elapsedSeconds = 0.0
    /// What `replay` and `requeue` have done with the accepted spool.
    package var replay = ReplayCounts()
    /// Dropped tracks (`not_identified`, `anonymous_only`) that the spool's identity
    /// state accepts now, their identify having come later: what `redrive` would move.
    package var redrivable = 0

    /// Reads the committed dropped spool once, and the ledger. The dropped files are
    /// split into `parallelism` runs of consecutive commits, of about equal bytes, read
    /// at once (one per core by default); their tallies are added up in commit order.
    /// With `files`, only the records of those inputs, or of inputs under those folders
    /// (as `source.file` gives them), are counted.
    public static func make(
        spool: String, files onlyFiles: [String] = [], parallelism: Int = defaultParallelism,
        progress: ScanProgress? = nil
    ) throws(AuditError) -> AuditReport {
        let ledger: Ledger
        do { ledger = try Ledger.committed(inSpool: spool) } catch { throw .spool(error) }
        return try make(spool: spool, ledger: ledger, files: onlyFiles, parallelism: parallelism, progress: progress)
    }

    /// The report of `spool` as `ledger`, already read, commits it.
    static func make(
        spool: String, ledger: Ledger, files onlyFiles: [String] = [], parallelism: Int = defaultParallelism,
        progress: ScanProgress? = nil
    ) throws(AuditError) -> AuditReport {
        let started = MonotonicClock.now
        var report = AuditReport(spool: spool, commits: ledger.lastCommit)
        report.onlyFiles = onlyFiles
        let state: IdentityState
        do {
            report.replay = try ReplayCounts.read(spool: spool)
            // What redrive would decide against; a later commit can only identify more users.
            state = try Spool.readState(directory: spool)
        } catch {
            throw .spool(error)
        }
        let tally = try tally(spool: spool, ledger: ledger, files: onlyFiles, state: state,
                              parallelism: parallelism, progress: progress)
        report.count(tally)
        report.countFiles(ledger, dropped: tally.droppedByFile)
        let resolved = Self.resolvedFaults(in: ledger.entries)
        report.resolvedFaults = resolved.filter { report.selects($0.path) }
        report.records = report.files.reduce(0) { $0 + $1.records }
        report.accepted = report.files.reduce(0) { $0 + $1.accepted }
        report.elapsedSeconds = MonotonicClock.now - started
        return report
    }

    /// The committed dropped files of `ledger` read in `parallelism` runs of consecutive
    /// commits at once, each run's tally made by its own worker and handed back; the
    /// tallies added up in commit order once every worker is done.
    private static func tally(
        spool: String, ledger: Ledger, files onlyFiles: [String], state: IdentityState, parallelism: Int,
        progress: ScanProgress?
    ) throws(AuditError) -> DropTally {
        progress?.begin(totalBytes: ledger.droppedFiles.reduce(0) { $0 + $1.bytes })
        let shards = Self.shards(of: ledger.droppedFiles, into: max(parallelism, 1))
        let tallies = ConditionLock([Result<DropTally, AuditError>?](repeating: nil, count: shards.count))
        DispatchQueue.concurrentPerform(iterations: shards.count) { shard in
            var scan = DroppedSpoolScan(spool: spool, ledger: ledger, files: shards[shard])
            scan.lines.progress = progress
            var tally = DropTally(state: state)
            let result = Result { () throws(AuditError) -> DropTally in
                try scan.forEach { (drop) throws(AuditError) -> Bool in
                    // `file` makes a String: only asked for when filtering.
                    if onlyFiles.isEmpty || AuditFilter.selects(file: drop.file, in: onlyFiles) { tally.add(drop) }
                    return true
                }
                return tally
            }
            tallies.withLock { $0[shard] = result }
        }
        var total = DropTally(state: state)
        for result in tallies.withLock({ $0 }) {
            // concurrentPerform returns once every shard's worker has handed its result back.
            total.merge(try result!.get())
        }
        return total
    }

    /// The counts by reason, by type and event, and by day of `tally`.
    private mutating func count(_ tally: DropTally) {
        func nonZero(_ counts: [Int]) -> [(ReasonCode, Int)] {
            zip(ReasonCode.allCases, counts).filter { $0.1 > 0 }
        }
        reasons = ReasonCode.allCases.map {
            ReasonCount(reason: $0, count: tally.reasonCounts[$0.index], example: tally.examples[$0.index],
                        samples: tally.samples[$0.index])
        }
        faults = tally.reasonCounts[ReasonCode.corruptInput.index]
        redrivable = tally.redrivable
        dropped = tally.reasonCounts.reduce(0, +) - faults
        events = tally.events.map { key, counts in
            EventCount(type: key.type, event: key.event, count: counts.reduce(0, +), reasons: nonZero(counts))
        }.sorted { ($0.count, $1.type ?? "", $1.event ?? "") > ($1.count, $0.type ?? "", $0.event ?? "") }
        // Undated last.
        let noDay = DropTally.noDay
        days = tally.days.sorted { ($0.key == noDay ? Int64.max : $0.key) < ($1.key == noDay ? Int64.max : $1.key) }
            .map { day, value in
                DayCount(day: day == noDay ? nil : Self.dayText(day),
                         dropped: value.counts.reduce(0, +), byFolder: value.byFolder, reasons: nonZero(value.counts))
            }
    }

    /// The counts by input file: records and accepted from the ledger (plus what redrive
    /// moved), dropped and faults from the dropped spool; and where the two disagree.
    private mutating func countFiles(_ ledger: Ledger, dropped droppedByFile: [String: (dropped: Int, faults: Int)]) {
        var order: [String] = []
        var files: [String: FileCount] = [:]
        func file(_ path: String) -> String {
            if files[path] == nil {
                order.append(path)
                files[path] = FileCount(path: path, records: 0, accepted: 0, dropped: 0, faults: 0, redriven: 0)
            }
            return path
        }
        for entry in ledger.entries {
            for input in entry.inputs where selects(input.path) {
                files[file(input.path)]!.records += input.records
                files[input.path]!.accepted += input.accepted
            }
            for source in entry.redrive?.sources ?? [] where selects(source.path) {
                files[file(source.path)]!.accepted += source.moved
                files[source.path]!.redriven += source.moved
                redriven += source.moved
            }
        }
        for (path, counts) in droppedByFile {
            files[file(path)]!.dropped = counts.dropped
            files[path]!.faults = counts.faults
        }
        self.files = order.map { files[$0]! }
        for file in self.files where file.records != file.accepted + file.dropped {
            problems.append("\(file.path): the ledger counts \(file.records) records and \(file.accepted) "
                            + "accepted, but the dropped spool holds \(file.dropped) of its records")
        }
    }

    /// Whether the report counts the input `path` (with `audit --file`, only some).
    private func selects(_ path: String) -> Bool {
        onlyFiles.isEmpty || AuditFilter.selects(file: path, in: onlyFiles)
    }

    /// One reader per core: two on the project's build machine.
    public static var defaultParallelism: Int { min(availableCores(), 8) }

    /// `files` cut into at most `count` runs of consecutive files of about equal bytes.
    static func shards(of files: [CommittedFile], into count: Int) -> [[CommittedFile]] {
        let total = files.reduce(0) { $0 + $1.bytes }
        var shards: [[CommittedFile]] = [[]]
        var bytes = 0
        for file in files {
            if bytes >= total * shards.count / count && !shards[shards.count - 1].isEmpty && shards.count < count {
                shards.append([])
            }
            shards[shards.count - 1].append(file)
            bytes += file.bytes
        }
        return shards
    }

    /// Day `day` since the epoch as `YYYY-MM-DD`.
    static func dayText(_ day: Int64) -> String {
        String(Timestamp(millisecondsSinceEpoch: day * 86_400_000, hadNumericOffset: false).isoString.prefix(10))
    }

    /// ``days`` added up by month (`YYYY-MM`), undated last.
    package var months: [DayCount] {
        var order: [String?] = []
        var byMonth: [String?: DayCount] = [:]
        for day in days {
            let month = day.day.map { String($0.prefix(7)) }
            guard var sum = byMonth[month] else {
                order.append(month)
                byMonth[month] = DayCount(day: month, dropped: day.dropped, byFolder: day.byFolder, reasons: day.reasons)
                continue
            }
            sum.dropped += day.dropped
            sum.byFolder += day.byFolder
            var counts = Dictionary(sum.reasons, uniquingKeysWith: +)
            for (reason, count) in day.reasons { counts[reason, default: 0] += count }
            sum.reasons = ReasonCode.allCases.compactMap { reason in counts[reason].map { (reason, $0) } }
            byMonth[month] = sum
        }
        return order.map { byMonth[$0]! }
    }

    /// `part` as a percentage of the records, one decimal.
    package func share(_ part: Int) -> Double { records == 0 ? 0 : Double(part) * 100 / Double(records) }
}
