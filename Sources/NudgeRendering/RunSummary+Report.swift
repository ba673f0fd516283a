import NudgeCore
import NudgeIngest
import NudgeSpool

/// `run`'s summary as a person reads it on standard error.
extension RunSummary {
    /// How many inputs the human summary lists, besides faulted ones.
    package static let reportedInputs = 10

    /// The human summary for standard error. Long runs stay short: at most
    /// ``reportedInputs`` inputs (those with the most drops) plus every faulted one.
    package var report: String {
        let recovered = notes.map { "nudge-ingest run: recovered spool \(spool): \($0)" }
        return (recovered + (inputs.isEmpty ? nothingCommittedLines : committedLines)).joined(separator: "\n")
    }

    /// A run that committed no input: why, and what it skipped, left out or refused.
    private var nothingCommittedLines: [String] {
        var lines: [String] = []
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
        return lines
    }

    /// A run that committed inputs: the counts, the inputs, the speed, and how it ended.
    private var committedLines: [String] {
        countLines + (skipLines + discovery.leftOutLines).map { "  " + $0 } + inputLines + warningLines
            + spoolLines + refusedLines.map { "  " + $0 } + endLines
    }

    /// Records, accepted and dropped, each reason that dropped some, the faults.
    private var countLines: [String] {
        let c = counts
        var lines = [
            "nudge-ingest run: \(group(c.records)) records from \(inputs.count) input\(inputs.count == 1 ? "" : "s") → spool \(spool)",
            "  accepted  \(group(c.accepted).leftPadded(to: 12, with: " "))  (\(group(c.acceptedIdentify)) identify, \(group(c.acceptedTrack)) track)",
            "  dropped   \(group(c.dropped).leftPadded(to: 12, with: " "))\(percent(c.dropped, of: c.records))",
        ]
        for reason in ReasonCode.allCases where reason != .corruptInput && c[reason] > 0 {
            lines.append("    \(reason.rawValue.rightPadded(to: 20))\(group(c[reason]).leftPadded(to: 10, with: " "))  \(reason.summary)")
        }
        if faults > 0 {
            lines.append("  faults    \(group(faults).leftPadded(to: 12, with: " "))  corrupt_input: not records; see below and the dropped spool")
        }
        return lines
    }

    /// The inputs of ``reportedInputIndices``, a line each, and how many are not shown.
    private var inputLines: [String] {
        var lines = ["  inputs:"]
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
        return lines
    }

    /// The first five inputs of ``notJSONInputs``, and how many more there are.
    private var warningLines: [String] {
        var lines = notJSONInputs.prefix(5).map { "  warning: " + Self.notJSONWarning($0) }
        if notJSONInputs.count > 5 {
            lines.append("  warning: … and \(notJSONInputs.count - 5) more inputs with no JSON object line")
        }
        return lines
    }

    /// The speed, S3's requests, the identity state, and the tracks redrive would accept.
    private var spoolLines: [String] {
        let c = counts
        let seconds = max(elapsedSeconds, 1e-9)
        let mb = Double(uncompressedBytes) / 1_000_000
        var lines = ["  \(group(Int(Double(c.records) / seconds))) records/s, \(format1(mb / seconds)) MB/s uncompressed (\(format1(mb)) MB in \(format3(elapsedSeconds)) s)"]
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
            lines.append("  state on disk: \(bytesText(stateDiskBytes)); message ids in memory: "
                         + "\(bytesText(state.messageIDBytes)) of a \(bytesText(memoryBudget)) budget (--memory)")
        }
        if redrivable > 0 {
            lines.append("  \(group(redrivable)) dropped track\(redrivable == 1 ? "" : "s") can be accepted now "
                         + "(their identify came later): run `nudge-ingest redrive --spool \(spool.shellQuoted)`")
        }
        return lines
    }

    /// How the run ended when that was not with every input read whole.
    private var endLines: [String] {
        if interrupted {
            return ["  interrupted: \(inputs.count) of \(planned) inputs committed; run the same command again to continue"]
        } else if let stopped {
            return ["  stopped: \(stopped)", "  \(inputs.count) of \(planned) inputs committed; run the same command again to continue"]
        } else if !refused.isEmpty {
            return ["  exit status 1: \(refused.count) input\(refused.count == 1 ? " was" : "s were") refused for "
                    + "\(refused.count == 1 ? "its" : "their") format" + (faults > 0 ? "; \(faults) unreadable or corrupt" : "")]
        } else if exitStatus != 0 {
            return ["  exit status \(exitStatus): \(faults) input\(faults == 1 ? " was" : "s were") unreadable or corrupt; the records before each fault were kept"]
        }
        return []
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
