import Dispatch
import NudgeCore
import NudgeSpool
import NudgeSystem

/// What `nudge-ingest audit` reports about a spool: the dropped records by reason, by
/// type and event name, by input file and by day, with one example per reason
/// (`schemas/audit-report.schema.json`).
package struct AuditReport: Sendable {
    package struct ReasonCount: Sendable {
        package var reason: ReasonCode
        package var count: Int
        /// The first record dropped for it, in spool order.
        package var example: Example?
        /// The raw lines of the first few records dropped for it (each cut at
        /// ``AuditReport/sampleCharacters``), for the HTML page.
        package var samples: [String] = []
    }

    /// Raw lines kept per reason, and characters kept of each.
    package static let samplesPerReason = 3
    package static let sampleCharacters = 400

    package struct Example: Sendable {
        package var file: String
        package var line: Int
        package var detail: String
    }

    package struct EventCount: Sendable {
        package var type: String?
        package var event: String?
        package var count: Int
        /// Counts by reason, rule order, zeros left out.
        package var reasons: [(ReasonCode, Int)]
    }

    package struct FileCount: Sendable {
        package var path: String
        package var records: Int
        package var accepted: Int
        package var dropped: Int
        package var faults: Int
        /// Records redrive moved from dropped to accepted (included in `accepted`).
        package var redriven: Int
    }

    package struct DayCount: Sendable {
        /// `YYYY-MM-DD` (UTC), or nil for records with no time at all.
        package var day: String?
        package var dropped: Int
        /// Of those, how many had no valid `timestamp` and were placed by their folder.
        package var byFolder: Int
        package var reasons: [(ReasonCode, Int)]
    }

    /// A faulted input (`corrupt_input`) that a later commit read whole under the same
    /// path (`run --reprocess-changed` after downloading it again): the fault is resolved.
    /// The records before the fault were read twice, once by each commit: those with a
    /// `messageId` were dropped again as `duplicate_message_id`, those without were
    /// accepted twice.
    package struct ResolvedFault: Sendable, Equatable {
        package var path: String
        /// The commit that read it with the fault, and the later one that read it whole.
        package var faultCommit: Int
        package var resolvedCommit: Int
        /// Records the faulted read processed, which the whole read processed again.
        package var rereadRecords: Int
    }

    package var spool: String
    package var commits: Int
    /// With `audit --file`: the inputs (or folders of them, `s3://` prefixes included)
    /// the report is limited to; empty for the whole spool.
    package var onlyFiles: [String] = []
    package var records = 0
    package var accepted = 0
    package var dropped = 0
    /// `corrupt_input` entries: input faults, not records.
    package var faults = 0
    /// Faulted inputs a later commit read whole (with `files`, of those inputs).
    package var resolvedFaults: [ResolvedFault] = []
    /// Faults no later commit has read whole: what still needs doing.
    package var unresolvedFaults: Int { max(faults - resolvedFaults.count, 0) }
    package var redriven = 0
    package var reasons: [ReasonCount] = []
    package var events: [EventCount] = []
    package var files: [FileCount] = []
    package var days: [DayCount] = []
    /// Disagreements between the ledger's counts and the dropped spool (damage).
    package var problems: [String] = []
    package var elapsedSeconds = 0.0
    /// What `replay` and `requeue` have done with the accepted spool.
    package var replay = ReplayCounts()
    /// Dropped tracks (`not_identified`, `anonymous_only`) that the spool's identity
    /// state accepts now, their identify having come later: what `redrive` would move.
    package var redrivable = 0

    /// The replay side of the audit, from the replay checkpoint and the rejected spool.
    package struct ReplayCounts: Sendable, Equatable {
        /// Where the replay these counts are of delivers; nil before the first replay
        /// (or after one from before destinations were recorded). Other destinations'
        /// progress, kept apart by `replay --switch-destination`, is not counted here.
        package var destination: ReplayDestination?
        /// Records Nudge acknowledged, over every replay to ``destination``.
        package var acknowledged = 0
        /// Records in `SPOOL/rejected/rejected.ndjson` now.
        package var rejected = 0
        /// Records `requeue` put back, over the spool's life, and those of them the
        /// next replay still has to send.
        package var requeued = 0
        package var requeuedPending = 0

        /// Reads them without the replay lock (a replay may be running: its last saved
        /// checkpoint is what counts).
        static func read(spool: String) throws(SpoolError) -> ReplayCounts {
            let checkpoint = try ReplayCheckpoint.saved(inSpool: spool)
            var counts = ReplayCounts()
            counts.destination = checkpoint.destination
            counts.acknowledged = checkpoint.acknowledged
            counts.requeued = checkpoint.requeuedTotal
            counts.requeuedPending = checkpoint.requeued.count
            counts.rejected = ((try? checkpoint.rejectedLines(inSpool: spool)) ?? []).count
            return counts
        }
    }

    /// Reads the committed dropped spool once, and the ledger. The dropped files are
    /// split into `parallelism` runs of consecutive commits, of about equal bytes, read
    /// at once (one per core by default); their tallies are added up in commit order.
    /// With `files`, only the records of those inputs, or of inputs under those folders
    /// (as `source.file` gives them), are counted.
    package static func make(
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
        let selected = { (path: String) in onlyFiles.isEmpty || AuditFilter.selects(file: path, in: onlyFiles) }
        let state: IdentityState
        do {
            report.replay = try ReplayCounts.read(spool: spool)
            // What redrive would decide against; a later commit can only identify more users.
            state = try Spool.readState(directory: spool)
        } catch {
            throw .spool(error)
        }

        progress?.begin(totalBytes: ledger.droppedFiles.reduce(0) { $0 + $1.bytes })
        let shards = Self.shards(of: ledger.droppedFiles, into: max(parallelism, 1))
        let tallies = UnsafeMutableBufferPointer<Result<Tally, AuditError>>.allocate(capacity: shards.count)
        // Every element is initialized once `concurrentPerform` returns.
        defer {
            _ = tallies.baseAddress!.deinitialize(count: shards.count)
            tallies.deallocate()
        }
        let results = SendableBuffer(tallies)
        DispatchQueue.concurrentPerform(iterations: shards.count) { shard in
            var scan = DroppedSpoolScan(spool: spool, ledger: ledger, files: shards[shard])
            scan.lines.progress = progress
            var tally = Tally(state: state)
            results.buffer.baseAddress!.advanced(by: shard).initialize(to: Result { () throws(AuditError) -> Tally in
                try scan.forEach { (drop) throws(AuditError) -> Bool in
                    // `file` makes a String: only asked for when filtering.
                    if onlyFiles.isEmpty || AuditFilter.selects(file: drop.file, in: onlyFiles) { tally.add(drop) }
                    return true
                }
                return tally
            })
        }
        var total = Tally(state: state)
        for shard in tallies.indices {
            total.merge(try tallies[shard].get())
        }
        let (reasonCounts, examples, events, droppedByFile, days) =
            (total.reasonCounts, total.examples, total.events, total.droppedByFile, total.days)
        let noDay = Tally.noDay

        func nonZero(_ counts: [Int]) -> [(ReasonCode, Int)] {
            zip(ReasonCode.allCases, counts).filter { $0.1 > 0 }
        }
        report.reasons = ReasonCode.allCases.map {
            ReasonCount(reason: $0, count: reasonCounts[$0.index], example: examples[$0.index], samples: total.samples[$0.index])
        }
        report.faults = reasonCounts[ReasonCode.corruptInput.index]
        report.redrivable = total.redrivable
        report.dropped = reasonCounts.reduce(0, +) - report.faults
        report.events = events.map { key, counts in
            EventCount(type: key.type, event: key.event, count: counts.reduce(0, +), reasons: nonZero(counts))
        }.sorted { ($0.count, $1.type ?? "", $1.event ?? "") > ($1.count, $0.type ?? "", $0.event ?? "") }
        // Undated last.
        report.days = days.sorted { ($0.key == noDay ? Int64.max : $0.key) < ($1.key == noDay ? Int64.max : $1.key) }.map { day, value in
            DayCount(day: day == noDay ? nil : Self.dayText(day),
                     dropped: value.counts.reduce(0, +), byFolder: value.byFolder, reasons: nonZero(value.counts))
        }

        // Files: records and accepted from the ledger (plus what redrive moved), dropped from the spool.
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
            for input in entry.inputs where selected(input.path) {
                files[file(input.path)]!.records += input.records
                files[input.path]!.accepted += input.accepted
            }
            for source in entry.redrive?.sources ?? [] where selected(source.path) {
                files[file(source.path)]!.accepted += source.moved
                files[source.path]!.redriven += source.moved
                report.redriven += source.moved
            }
        }
        for (path, counts) in droppedByFile {
            files[file(path)]!.dropped = counts.dropped
            files[path]!.faults = counts.faults
        }
        report.files = order.map { files[$0]! }
        for file in report.files where file.records != file.accepted + file.dropped {
            report.problems.append("\(file.path): the ledger counts \(file.records) records and \(file.accepted) "
                                   + "accepted, but the dropped spool holds \(file.dropped) of its records")
        }
        report.resolvedFaults = Self.resolvedFaults(in: ledger.entries).filter { selected($0.path) }
        report.records = report.files.reduce(0) { $0 + $1.records }
        report.accepted = report.files.reduce(0) { $0 + $1.accepted }
        report.elapsedSeconds = MonotonicClock.now - started
        return report
    }

    /// The faulted inputs of `ledger` that a later commit read whole, under the same
    /// path (or the same absolute path), in the order they were faulted.
    static func resolvedFaults(in entries: [LedgerEntry]) -> [ResolvedFault] {
        var open: [(path: String, absolutePath: String?, commit: Int, records: Int)] = []
        var resolved: [ResolvedFault] = []
        for entry in entries {
            for input in entry.inputs {
                guard input.status == .ok else {
                    open.append((input.path, input.absolutePath, entry.commit, input.records))
                    continue
                }
                open.removeAll { fault in
                    // The same file: by absolute path where both runs recorded one (the same
                    // relative path run from another folder is another file), else by path.
                    let same = if let faulted = fault.absolutePath, let read = input.absolutePath {
                        faulted == read
                    } else {
                        fault.path == input.path
                    }
                    guard same else { return false }
                    resolved.append(ResolvedFault(path: fault.path, faultCommit: fault.commit, resolvedCommit: entry.commit,
                                                  rereadRecords: min(fault.records, input.records)))
                    return true
                }
            }
        }
        return resolved.sorted { ($0.faultCommit, $0.path) < ($1.faultCommit, $1.path) }
    }

    /// `; 2 input faults (corrupt_input), 1 resolved: read whole later`, or nothing.
    var faultSummary: String {
        guard faults > 0 else { return "" }
        var text = "; \(group(faults)) input fault\(faults == 1 ? "" : "s") (corrupt_input)"
        if !resolvedFaults.isEmpty {
            text += unresolvedFaults == 0 ? (faults == 1 ? ", resolved" : ", all resolved")
                : ", \(group(resolvedFaults.count)) resolved"
            text += ": read whole by a later commit"
        }
        return text
    }

    /// One line per resolved fault.
    var resolvedFaultLines: [String] {
        resolvedFaults.map { fault in
            "\(fault.path): faulted in commit \(fault.faultCommit), read whole in commit \(fault.resolvedCommit); "
                + "its \(group(fault.rereadRecords)) record\(fault.rereadRecords == 1 ? "" : "s") before the fault were read twice "
                + "(dropped again as duplicate_message_id where they carry a messageId)"
        }
    }

    /// One reader per core: two on the project's build machine.
    package static var defaultParallelism: Int { min(availableCores(), 8) }

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

    /// Past this many days, tables show months (two months of days still fit a screen).
    package static let maximumDayRows = 62

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
    func share(_ part: Int) -> Double { records == 0 ? 0 : Double(part) * 100 / Double(records) }
}

/// What one reader counts over its run of dropped files.
private struct Tally {
    static let noDay = Int64.min
    struct EventKey: Hashable { var type: String?; var event: String? }

    var reasonCounts = [Int](repeating: 0, count: ReasonCode.allCases.count)
    var examples = [AuditReport.Example?](repeating: nil, count: ReasonCode.allCases.count)
    var samples = [[String]](repeating: [], count: ReasonCode.allCases.count)
    var events: [EventKey: [Int]] = [:]
    var droppedByFile: [String: (dropped: Int, faults: Int)] = [:]
    var days: [Int64: (counts: [Int], byFolder: Int)] = [:]
    var redrivable = 0
    /// The identity state now, to tell which dropped tracks it would accept.
    let state: IdentityState
    private var lastFile: (bytes: [UInt8], path: String) = ([], "")

    init(state: IdentityState) {
        self.state = state
    }

    mutating func add(_ drop: ScannedDrop) {
        let index = drop.reason.index
        reasonCounts[index] += 1
        // One input per commit: the file's bytes rarely change from one record to the next.
        let fileBytes = drop.bytes[drop.record.file]
        if !fileBytes.elementsEqual(lastFile.bytes) { lastFile = (Array(fileBytes), drop.file) }
        let file = lastFile.path
        if examples[index] == nil {
            examples[index] = AuditReport.Example(file: file, line: drop.record.line, detail: drop.detail)
        }
        if samples[index].count < AuditReport.samplesPerReason, let raw = drop.string(drop.record.raw) {
            samples[index].append(String(raw.prefix(AuditReport.sampleCharacters)))
        }
        if drop.reason == .corruptInput {
            droppedByFile[file, default: (0, 0)].faults += 1
            return
        }
        droppedByFile[file, default: (0, 0)].dropped += 1
        events[EventKey(type: drop.type, event: drop.event), default: Self.zeros][index] += 1
        let original = drop.originalEvent()
        if drop.type == "track", let original, isAcceptedNow(drop.reason, original) { redrivable += 1 }
        let time = drop.eventTime(original)
        let day = time.map { $0.milliseconds.floorDivided(by: 86_400_000).quotient } ?? Self.noDay
        days[day, default: (Self.zeros, 0)].counts[index] += 1
        if time?.fromFolder == true { days[day]!.byFolder += 1 }
    }

    /// Whether `redrive` would accept this dropped track now: a `not_identified` one
    /// whose user is identified, an `anonymous_only` one (with a valid timestamp, the
    /// rule after its own) whose anonymousId is linked to an identified user.
    private func isAcceptedNow(_ reason: ReasonCode, _ event: RawEvent) -> Bool {
        switch reason {
        case .notIdentified:
            // Its user came from its userId, or (none given) from the link of its anonymousId.
            if let userID = event.userID, let extID = event.extID, !userID.withUnsafeBytes(UnicodeText.isBlank) {
                return extID.withUnsafeBytes(state.acceptsTrack(extID:))
            }
            return event.anonymousID?.withUnsafeBytes(state.acceptsTrack(anonymousID:)) ?? false
        case .anonymousOnly:
            guard event.timestamp != nil, let anonymousID = event.anonymousID else { return false }
            return anonymousID.withUnsafeBytes(state.acceptsTrack(anonymousID:))
        default:
            return false
        }
    }

    /// Adds the tally of the files after this one's.
    mutating func merge(_ later: Tally) {
        redrivable += later.redrivable
        for i in reasonCounts.indices {
            reasonCounts[i] += later.reasonCounts[i]
            if examples[i] == nil { examples[i] = later.examples[i] }
            samples[i] = Array((samples[i] + later.samples[i]).prefix(AuditReport.samplesPerReason))
        }
        for (key, counts) in later.events { events[key] = zip(events[key] ?? Self.zeros, counts).map(+) }
        for (file, counts) in later.droppedByFile {
            let mine = droppedByFile[file] ?? (0, 0)
            droppedByFile[file] = (mine.dropped + counts.dropped, mine.faults + counts.faults)
        }
        for (day, value) in later.days {
            let mine = days[day] ?? (Self.zeros, 0)
            days[day] = (zip(mine.counts, value.counts).map(+), mine.byFolder + value.byFolder)
        }
    }

    private static let zeros = [Int](repeating: 0, count: ReasonCode.allCases.count)
}

/// A buffer that threads write at distinct indices.
private struct SendableBuffer<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>
    init(_ buffer: UnsafeMutableBufferPointer<Element>) { self.buffer = buffer }
}

// MARK: - Rendering

extension AuditReport {
    /// The report as a person reads it in a terminal.
    package func table(top: Int = 20) -> String {
        var lines: [String] = []
        lines.append("Dropped records in \(spool) (\(commits) commit\(commits == 1 ? "" : "s"))"
                     + (onlyFiles.isEmpty ? "" : ", only from " + onlyFiles.joined(separator: ", ")))
        lines.append("  \(group(records)) records = \(group(accepted)) accepted + \(group(dropped)) dropped"
                     + percent(dropped, of: records)
                     + faultSummary
                     + (redriven > 0 ? "; \(group(redriven)) accepted by redrive" : ""))
        lines.append("")
        lines.append("By reason                      count   share  example")
        for entry in reasons where entry.count > 0 {
            let example = entry.example.map { "\($0.file):\($0.line)  \($0.detail)" } ?? ""
            lines.append("  " + entry.reason.rawValue.rightPadded(to: 22) + group(entry.count).leftPadded(to: 12, with: " ")
                         + (entry.reason == .corruptInput ? "        " : (format1(share(entry.count)) + "%").leftPadded(to: 8, with: " "))
                         + "  " + example)
        }
        if dropped + faults == 0 { lines.append("  (nothing was dropped)") }
        if !resolvedFaults.isEmpty {
            lines.append("")
            lines.append("Resolved faults (\(group(resolvedFaults.count)) of \(group(faults)))")
            lines += resolvedFaultLines.map { "  " + $0 }
        }
        lines.append("")
        lines.append("By type and event (top \(min(top, events.count)) of \(events.count))")
        for entry in events.prefix(top) {
            let name = (entry.type ?? "(no type)") + " / " + (entry.event ?? "(no event)")
            let reasons = entry.reasons.map { "\($0.0.rawValue) \(group($0.1))" }.joined(separator: ", ")
            lines.append("  " + String(name.prefix(48)).rightPadded(to: 48) + group(entry.count).leftPadded(to: 10, with: " ")
                         + "  " + reasons)
        }
        lines.append("")
        lines.append("By input file                         records = accepted + dropped")
        for file in files {
            var line = "  " + file.path + "  " + group(file.records) + " = " + group(file.accepted) + " + " + group(file.dropped)
            if file.redriven > 0 { line += "  (\(group(file.redriven)) redriven)" }
            if file.faults > 0 {
                let resolved = resolvedFaults.count { $0.path == file.path }
                line += "  [\(file.faults) fault\(file.faults == 1 ? "" : "s")"
                    + (resolved == 0 ? "" : resolved == file.faults ? ", resolved" : ", \(resolved) resolved") + "]"
            }
            lines.append(line)
        }
        lines.append("")
        let periods = days.count > Self.maximumDayRows ? months : days
        lines.append(periods.count == days.count ? "By day (event timestamp, else received-day folder)"
                     : "By month (\(days.count) days: --format json lists each day)")
        for day in periods {
            let reasons = day.reasons.map { "\($0.0.rawValue) \(group($0.1))" }.joined(separator: ", ")
            lines.append("  " + (day.day ?? "no date").rightPadded(to: 12) + group(day.dropped).leftPadded(to: 10, with: " ")
                         + "  " + reasons)
        }
        for problem in problems { lines.append("WARNING: " + problem) }
        lines.append("")
        lines.append("Replay" + (replay.destination.map { " to \($0.endpoint)" } ?? "")
                     + ": \(group(replay.acknowledged)) acknowledged by Nudge, \(group(replay.rejected)) rejected"
                     + (replay.rejected > 0 ? " (\(spool)/rejected/rejected.ndjson; `nudge-ingest requeue` puts them back)" : "")
                     + ", \(group(replay.requeued)) requeued"
                     + (replay.requeuedPending > 0 ? " (\(group(replay.requeuedPending)) waiting for the next replay)" : ""))
        if redrivable > 0 {
            lines.append("")
            lines.append("\(group(redrivable)) dropped track\(redrivable == 1 ? "" : "s") can be accepted now (their identify "
                         + "came later): run `nudge-ingest redrive --spool \(spool.shellQuoted)`")
        }
        lines.append("")
        lines.append("Page through them: nudge-ingest audit list --spool \(spool.shellQuoted) --reason REASON")
        return lines.joined(separator: "\n")
    }

    /// `schemas/audit-report.schema.json`.
    package var json: String {
        var out = JSONWriter()
        out.beginObject()
        out.value("spool", spool)
        out.value("commits", commits)
        out.array("only_files", onlyFiles)
        out.value("records", records)
        out.value("accepted", accepted)
        out.value("dropped", dropped)
        out.value("corrupt_inputs", faults)
        out.value("unresolved_corrupt_inputs", unresolvedFaults)
        out.beginArray("resolved_faults")
        for fault in resolvedFaults {
            out.beginObject()
            out.value("path", fault.path)
            out.value("fault_commit", fault.faultCommit)
            out.value("resolved_commit", fault.resolvedCommit)
            out.value("reread_records", fault.rereadRecords)
            out.endObject()
        }
        out.endArray()
        out.value("redriven", redriven)
        out.value("redrivable_tracks", redrivable)
        out.beginArray("reasons")
        for entry in reasons {
            out.beginObject()
            out.value("reason", entry.reason.rawValue)
            out.value("count", entry.count)
            out.value("share", share(entry.reason == .corruptInput ? 0 : entry.count), decimals: 2)
            if let example = entry.example {
                out.beginObject("example")
                out.value("file", example.file)
                out.value("line", example.line)
                out.value("detail", example.detail)
                out.endObject()
            } else {
                out.value("example", nil as String?)
            }
            out.endObject()
        }
        out.endArray()
        out.beginArray("events")
        for entry in events {
            out.beginObject()
            out.value("type", entry.type)
            out.value("event", entry.event)
            out.value("count", entry.count)
            reasonObject(entry.reasons, &out)
            out.endObject()
        }
        out.endArray()
        out.beginArray("files")
        for file in files {
            out.beginObject()
            out.value("path", file.path)
            out.value("records", file.records)
            out.value("accepted", file.accepted)
            out.value("dropped", file.dropped)
            out.value("redriven", file.redriven)
            out.value("corrupt_inputs", file.faults)
            out.endObject()
        }
        out.endArray()
        out.beginArray("days")
        for day in days {
            out.beginObject()
            out.value("day", day.day)
            out.value("dropped", day.dropped)
            out.value("by_folder", day.byFolder)
            reasonObject(day.reasons, &out)
            out.endObject()
        }
        out.endArray()
        out.beginArray("problems")
        for problem in problems { out.value(nil, problem) }
        out.endArray()
        out.beginObject("replay")
        ReplayDestination.write(replay.destination, to: &out)
        out.value("acknowledged", replay.acknowledged)
        out.value("rejected", replay.rejected)
        out.value("requeued", replay.requeued)
        out.value("requeued_pending", replay.requeuedPending)
        out.endObject()
        out.value("elapsed_seconds", elapsedSeconds, decimals: 3)
        out.endObject()
        return out.text
    }

    private func reasonObject(_ counts: [(ReasonCode, Int)], _ out: inout JSONWriter) {
        out.beginObject("reasons")
        for (reason, count) in counts { out.value(reason.rawValue, count) }
        out.endObject()
    }

    /// One table in long form, for spreadsheets and SQL: a row per reason, per type and
    /// event, per file, per day and reason, and per example.
    package var csv: String {
        var rows = [["section", "reason", "type", "event", "file", "day", "count", "share", "records", "accepted", "line", "detail"]]
        func row(_ section: String, reason: String = "", type: String? = "", event: String? = "", file: String = "",
                 day: String = "", count: Int? = nil, share: Double? = nil, records: Int? = nil, accepted: Int? = nil,
                 line: Int? = nil, detail: String = "") {
            rows.append([section, reason, type ?? "", event ?? "", file, day, count.map(String.init) ?? "",
                         share.map { fixed($0, decimals: 2) } ?? "", records.map(String.init) ?? "",
                         accepted.map(String.init) ?? "", line.map(String.init) ?? "", detail])
        }
        for entry in reasons {
            row("reason", reason: entry.reason.rawValue, count: entry.count,
                share: entry.reason == .corruptInput ? nil : share(entry.count))
        }
        for entry in events {
            for (reason, count) in entry.reasons {
                row("event", reason: reason.rawValue, type: entry.type, event: entry.event, count: count, share: share(count))
            }
        }
        for file in files {
            row("file", file: file.path, count: file.dropped, records: file.records, accepted: file.accepted)
        }
        for day in days {
            for (reason, count) in day.reasons { row("day", reason: reason.rawValue, day: day.day ?? "", count: count) }
        }
        row("replay", reason: "acknowledged", count: replay.acknowledged)
        row("replay", reason: "rejected", count: replay.rejected)
        row("replay", reason: "requeued", count: replay.requeued)
        row("replay", reason: "requeued_pending", count: replay.requeuedPending)
        for entry in reasons {
            if let example = entry.example {
                row("example", reason: entry.reason.rawValue, file: example.file, line: example.line, detail: example.detail)
            }
        }
        return rows.map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\r\n")
    }
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    return "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
}
