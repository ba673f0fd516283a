import NudgeCore
import NudgeSpool

/// An input read as it came (standard input, a FIFO, an S3 object) whose first bytes
/// were those of a format `run` does not read: not committed.
package struct RefusedInput: Sendable, Equatable {
    package var path: String
    package var format: RefusedFormat

    /// What it is and what to do.
    package var message: String {
        InputError.Problem.refusedFormat(path: path, format: format, walked: false).message
    }
}

/// The outcome of `nudge-ingest run`: the contract's run summary.
package struct RunSummary: Sendable {
    package var spool: String
    package var inputs: [InputSummary] = []
    package var counts = OutcomeCounts()
    package var elapsedSeconds: Double = 0
    /// Inputs the spool had committed already.
    package var skipped: [SkippedInput] = []
    /// What opening the spool repaired after an interrupted run.
    package var notes: [String] = []
    /// The identity state after the run (nil when nothing was processed, or the run
    /// was interrupted).
    package var state: StateStatistics?
    /// What the directory walks left out (hidden files, symbolic links, `--exclude`).
    package var discovery = Discovery()
    /// Inputs the run set out to process (committed ones skipped).
    package var planned = 0
    /// Ctrl-C stopped the run: `inputs` were committed, the one being read was not.
    package var interrupted = false
    /// Why the remote store stopped the run (S3 unreachable after its retries, a key
    /// refused, an object changed while read): `inputs` were committed, the one being
    /// read was not, and the same command continues from it.
    package var stopped: String?
    /// What was asked of S3, when the run read from it (listing included).
    package var remoteRequests: RemoteRequestCounts?
    /// Tracks this run dropped as `not_identified` or `anonymous_only` that the spool's
    /// identity state accepts now (their identify came later): what `redrive` would move.
    package var redrivable = 0
    /// Inputs refused when read, for their format (zip, bzip2, xz, zstd): not committed.
    /// (Files are refused before the run, by ``InputDiscovery``.)
    package var refused: [RefusedInput] = []

    /// Inputs of which no line is a JSON object (every record `malformed_json`,
    /// `not_an_object` or `line_too_long`): not a Segment export (a README, a stamp file),
    /// or JSON that is not NDJSON (a pretty-printed `.json`, an array on one line). They
    /// are processed as the contract says, and the summary warns.
    package var notJSONInputs: [InputSummary] {
        inputs.filter { input in
            let counts = input.counts
            return counts.records > 0
                && counts[.malformedJSON] + counts[.notAnObject] + counts[.lineTooLong] == counts.records
        }
    }

    package var uncompressedBytes: Int { inputs.reduce(0) { $0 + $1.uncompressedBytes } }
    package var compressedBytes: Int { inputs.reduce(0) { $0 + $1.bytes } }
    package var faults: Int { counts[.corruptInput] }

    /// 0 when every input was read whole; 2 when some input was unreadable or corrupt,
    /// or S3 stopped the run (the contract's status, whatever else happened); else 1
    /// when an input was refused for its format; 130 when Ctrl-C interrupted the run.
    package var exitStatus: Int32 {
        interrupted ? 130 : faults > 0 || stopped != nil ? 2 : !refused.isEmpty ? 1 : 0
    }

    /// The `--json` document (`schemas/run-summary.schema.json`).
    package var json: String {
        var json = JSONWriter()
        json.beginObject()
        json.value("spool", spool)
        json.value("records", counts.records)
        json.value("accepted", counts.accepted)
        json.value("dropped", counts.dropped)
        json.beginObject("accepted_by_kind")
        json.value("identify", counts.acceptedIdentify)
        json.value("track", counts.acceptedTrack)
        json.endObject()
        json.beginObject("reasons")
        for reason in ReasonCode.allCases { json.value(reason.rawValue, counts[reason]) }
        json.endObject()
        json.value("corrupt_inputs", faults)
        json.beginArray("inputs")
        for input in inputs {
            json.beginObject()
            json.value("path", input.path)
            json.value("format", input.format.rawValue)
            json.value("bytes", input.bytes)
            json.value("uncompressed_bytes", input.uncompressedBytes)
            json.value("records", input.counts.records)
            json.value("accepted", input.counts.accepted)
            json.value("dropped", input.counts.dropped)
            json.value("status", input.status.rawValue)
            if let fault = input.fault {
                json.beginObject("fault")
                json.value("offset", fault.offset)
                json.value("line", fault.line)
                json.value("message", fault.message)
                json.endObject()
            } else {
                json.value("fault", nil as Int?)
            }
            json.endObject()
        }
        json.endArray()
        json.beginArray("skipped")
        for skip in skipped {
            json.beginObject()
            json.value("path", skip.path)
            switch skip.reason {
            case .committed(let commit, let path):
                json.value("reason", "already_committed")
                json.value("commit", commit)
                json.value("committed_path", path)
            case .namedTwice, .empty:
                json.value("reason", skip.reason == .empty ? "empty" : "named_twice")
                json.value("commit", nil as Int?)
                json.value("committed_path", nil as String?)
            case .sameContent(let path):
                json.value("reason", "same_content")
                json.value("commit", nil as Int?)
                json.value("committed_path", path)
            }
            json.endObject()
        }
        json.endArray()
        json.beginObject("left_out")
        json.array("hidden", discovery.hidden)
        json.array("symbolic_links", discovery.symbolicLinks)
        json.array("excluded", discovery.excluded)
        json.array("loops", discovery.loops)
        json.array("broken_links", discovery.brokenLinks)
        json.array("spools", discovery.spools)
        json.endObject()
        json.array("not_json_inputs", notJSONInputs.map(\.path))
        json.beginArray("refused")
        for input in refused {
            json.beginObject()
            json.value("path", input.path)
            json.value("format", input.format.rawValue)
            json.value("message", input.message)
            json.endObject()
        }
        json.endArray()
        json.value("redrivable_tracks", redrivable)
        json.value("interrupted", interrupted)
        json.value("stopped", stopped)
        if let remote = remoteRequests {
            json.beginObject("s3")
            json.value("requests", remote.requests)
            json.value("retries", remote.retries)
            json.value("resumes", remote.resumes)
            json.value("bytes", remote.bytes)
            json.endObject()
        } else {
            json.value("s3", nil as Int?)
        }
        json.array("recovery", notes)
        if let state {
            json.beginObject("state")
            json.value("users", state.users)
            json.value("identified_users", state.identifiedUsers)
            json.value("links", state.links)
            json.value("message_ids", state.messageIDs)
            json.endObject()
        } else {
            json.value("state", nil as Int?)
        }
        json.value("uncompressed_bytes", uncompressedBytes)
        json.value("elapsed_seconds", elapsedSeconds, decimals: 3)
        json.value("exit_status", Int(exitStatus))
        json.endObject()
        return json.text
    }

    /// The human summary for standard error. Long runs stay short: at most
    /// ``reportedInputs`` inputs (those with the most drops) plus every faulted one.
    package var report: String {
        var lines: [String] = []
        for note in notes { lines.append("nudge-ingest run: recovered spool \(spool): \(note)") }
        if inputs.isEmpty {
            var line = "nudge-ingest run: " + (interrupted ? "interrupted before any input was committed"
                : stopped != nil ? "stopped before any input was committed"
                : !refused.isEmpty ? "nothing committed" : "nothing to do")
            let skips = skipLines
            if skips.count == 1 && !interrupted { line += ": " + skips[0]; lines.append(line + " (spool \(spool))") }
            else { lines.append(line + " (spool \(spool))"); lines += skips.map { "  " + $0 } }
            lines += discovery.leftOutLines.map { "  " + $0 }
            lines += refusedLines.map { "  " + $0 }
            if let stopped { lines.append("  stopped: \(stopped)") }
            if interrupted || stopped != nil { lines.append("  run the same command again to continue") }
            return lines.joined(separator: "\n")
        }
        let c = counts
        lines.append("nudge-ingest run: \(group(c.records)) records from \(inputs.count) input\(inputs.count == 1 ? "" : "s") → spool \(spool)")
        lines.append("  accepted  \(group(c.accepted).leftPadded(to: 12, with: " "))  (\(group(c.acceptedIdentify)) identify, \(group(c.acceptedTrack)) track)")
        lines.append("  dropped   \(group(c.dropped).leftPadded(to: 12, with: " "))\(percent(c.dropped, of: c.records))")
        for reason in ReasonCode.allCases where reason != .corruptInput && c[reason] > 0 {
            lines.append("    \(reason.rawValue.rightPadded(to: 20))\(group(c[reason]).leftPadded(to: 10, with: " "))  \(reason.summary)")
        }
        if faults > 0 {
            lines.append("  faults    \(group(faults).leftPadded(to: 12, with: " "))  corrupt_input: not records; see below and the dropped spool")
        }
        lines += skipLines.map { "  " + $0 }
        lines += discovery.leftOutLines.map { "  " + $0 }
        lines.append("  inputs:")
        let shown = reportedInputIndices
        let width = min(shown.map { inputs[$0].path.count }.max() ?? 0, 60)
        for index in shown {
            let input = inputs[index]
            let counts = input.counts
            var line = "    \(input.path.rightPadded(to: width))  \(group(counts.records).leftPadded(to: 9, with: " ")) = \(group(counts.accepted)) accepted + \(group(counts.dropped)) dropped"
            if input.status != .ok, let fault = input.fault {
                line += "  [\(input.status.rawValue.uppercased()) at byte \(fault.offset): \(fault.message)]"
            }
            lines.append(line)
        }
        if shown.count < inputs.count {
            let more = inputs.count - shown.count
            lines.append("    … \(group(more)) more input\(more == 1 ? "" : "s"), all complete (--json lists every input)")
        }
        for input in notJSONInputs.prefix(5) { lines.append("  warning: " + Self.notJSONWarning(input)) }
        if notJSONInputs.count > 5 {
            lines.append("  warning: … and \(notJSONInputs.count - 5) more inputs with no JSON object line")
        }
        let seconds = max(elapsedSeconds, 1e-9)
        let mb = Double(uncompressedBytes) / 1_000_000
        lines.append("  \(group(Int(Double(c.records) / seconds))) records/s, \(format1(mb / seconds)) MB/s uncompressed (\(format1(mb)) MB in \(format3(elapsedSeconds)) s)")
        if let remote = remoteRequests {
            var line = "  S3: \(group(remote.requests)) request\(remote.requests == 1 ? "" : "s"), \(group(remote.bytes)) bytes"
            if remote.retries > 0 {
                line += "; \(group(remote.retries)) retried (\(group(remote.resumes)) resumed after a dropped connection)"
            }
            lines.append(line)
        }
        if let state {
            lines.append("  spool state: \(group(state.users)) users (\(group(state.identifiedUsers)) identified), "
                         + "\(group(state.links)) links, \(group(state.messageIDs)) message ids")
        }
        if redrivable > 0 {
            lines.append("  \(group(redrivable)) dropped track\(redrivable == 1 ? "" : "s") can be accepted now "
                         + "(their identify came later): run `nudge-ingest redrive --spool \(spool.shellQuoted)`")
        }
        lines += refusedLines.map { "  " + $0 }
        if interrupted {
            lines.append("  interrupted: \(inputs.count) of \(planned) inputs committed; run the same command again to continue")
        } else if let stopped {
            lines.append("  stopped: \(stopped)")
            lines.append("  \(inputs.count) of \(planned) inputs committed; run the same command again to continue")
        } else if !refused.isEmpty {
            lines.append("  exit status 1: \(refused.count) input\(refused.count == 1 ? " was" : "s were") refused for "
                         + "\(refused.count == 1 ? "its" : "their") format" + (faults > 0 ? "; \(faults) unreadable or corrupt" : ""))
        } else if exitStatus != 0 {
            lines.append("  exit status \(exitStatus): \(faults) input\(faults == 1 ? " was" : "s were") unreadable or corrupt; the records before each fault were kept")
        }
        return lines.joined(separator: "\n")
    }

    /// One line per refused input.
    private var refusedLines: [String] {
        refused.map { "refused \($0.message); not committed" }
    }

    /// Why an input of ``notJSONInputs`` is not what `run` reads, and what to do.
    static func notJSONWarning(_ input: InputSummary) -> String {
        let counts = input.counts
        guard counts[.malformedJSON] < counts.records else {
            return "no line of \(input.path) is JSON (\(group(counts.records)) malformed_json drops): "
                + "is it a Segment export? --exclude leaves such files out"
        }
        let reasons = [ReasonCode.notAnObject, .malformedJSON, .lineTooLong].filter { counts[$0] > 0 }
            .map { "\(group(counts[$0])) \($0.rawValue)" }.joined(separator: ", ")
        return "no line of \(input.path) is a JSON object (\(reasons)): a JSON array or a pretty-printed "
            + "document is not NDJSON; one event a line is what run reads (jq -c '.[]' FILE makes it from an array)"
    }

    /// How many inputs the human summary lists, besides faulted ones.
    package static let reportedInputs = 10

    /// The inputs the human summary lists, in input order: every faulted one, and the
    /// ``reportedInputs`` with the most drops (all of them when there are that few).
    var reportedInputIndices: [Int] {
        guard inputs.count > Self.reportedInputs else { return Array(inputs.indices) }
        let mostDrops = inputs.indices.sorted { (inputs[$0].counts.dropped, $1) > (inputs[$1].counts.dropped, $0) }
            .prefix(Self.reportedInputs)
        return Set(mostDrops).union(inputs.indices.filter { inputs[$0].status != .ok }).sorted()
    }

    /// One line per kind of skipped input.
    private var skipLines: [String] {
        var lines: [String] = []
        let committed = skipped.filter { if case .committed = $0.reason { true } else { false } }.count
        if committed > 0 {
            lines.append("\(committed) input\(committed == 1 ? " was" : "s were") committed to this spool already, skipped")
        }
        for skip in skipped {
            switch skip.reason {
            case .sameContent(let path): lines.append("skipped \(skip.path): same content as \(path)")
            case .empty: lines.append("skipped \(skip.path): empty (0 bytes); not committed, so it is read once it has content")
            case .namedTwice, .committed: break
            }
        }
        return lines
    }
}
