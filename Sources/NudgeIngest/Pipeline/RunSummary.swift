/// What happened to one input.
public struct InputSummary: Sendable {
    public enum Status: String, Sendable {
        case ok, corrupt, unreadable
    }

    public var path: String
    public var format: InputFormat
    public var bytes: Int
    public var uncompressedBytes: Int
    public var counts: OutcomeCounts
    public var status: Status
    /// For a fault: where and what.
    public var fault: (offset: Int, line: Int, message: String)?
}

/// The outcome of `nudge-ingest run`: the contract's run summary.
public struct RunSummary: Sendable {
    public var spool: String
    public var inputs: [InputSummary] = []
    public var counts = OutcomeCounts()
    public var elapsedSeconds: Double = 0
    /// Inputs the spool had committed already.
    public var skipped: [SkippedInput] = []
    /// What opening the spool repaired after an interrupted run.
    public var notes: [String] = []
    /// The identity state after the run (nil when nothing was processed).
    public var state: StateStatistics?

    public var uncompressedBytes: Int { inputs.reduce(0) { $0 + $1.uncompressedBytes } }
    public var compressedBytes: Int { inputs.reduce(0) { $0 + $1.bytes } }
    public var faults: Int { counts[.corruptInput] }

    /// 0 when every input was read whole; 2 when some input was unreadable or corrupt.
    public var exitStatus: Int32 { faults > 0 ? 2 : 0 }

    /// The `--json` document (`schemas/run-summary.schema.json`).
    public var json: String {
        var out = ByteBuffer(capacity: 4096)
        func key(_ name: String) { out.append(utf8: "\"\(name)\":") }
        func string(_ text: String) { JSONOutput.appendString(text, to: &out) }
        func int(_ value: Int) { JSONOutput.appendDecimal(value, to: &out) }
        out.append(0x7B)
        key("spool"); string(spool)
        out.append(0x2C); key("records"); int(counts.records)
        out.append(0x2C); key("accepted"); int(counts.accepted)
        out.append(0x2C); key("dropped"); int(counts.dropped)
        out.append(0x2C); key("accepted_by_kind")
        out.append(utf8: "{\"identify\":\(counts.acceptedIdentify),\"track\":\(counts.acceptedTrack)}")
        out.append(0x2C); key("reasons"); out.append(0x7B)
        for (i, reason) in ReasonCode.allCases.enumerated() {
            if i > 0 { out.append(0x2C) }
            key(reason.rawValue); int(counts[reason])
        }
        out.append(0x7D)
        out.append(0x2C); key("corrupt_inputs"); int(faults)
        out.append(0x2C); key("inputs"); out.append(0x5B)
        for (i, input) in inputs.enumerated() {
            if i > 0 { out.append(0x2C) }
            out.append(0x7B)
            key("path"); string(input.path)
            out.append(0x2C); key("format"); string(input.format.rawValue)
            out.append(0x2C); key("bytes"); int(input.bytes)
            out.append(0x2C); key("uncompressed_bytes"); int(input.uncompressedBytes)
            out.append(0x2C); key("records"); int(input.counts.records)
            out.append(0x2C); key("accepted"); int(input.counts.accepted)
            out.append(0x2C); key("dropped"); int(input.counts.dropped)
            out.append(0x2C); key("status"); string(input.status.rawValue)
            out.append(0x2C); key("fault")
            if let fault = input.fault {
                out.append(0x7B)
                key("offset"); int(fault.offset)
                out.append(0x2C); key("line"); int(fault.line)
                out.append(0x2C); key("message"); string(fault.message)
                out.append(0x7D)
            } else {
                out.append("null")
            }
            out.append(0x7D)
        }
        out.append(0x5D)
        out.append(0x2C); key("skipped"); out.append(0x5B)
        for (i, skip) in skipped.enumerated() {
            if i > 0 { out.append(0x2C) }
            out.append(0x7B)
            key("path"); string(skip.path)
            switch skip.reason {
            case .committed(let commit, let path):
                out.append(0x2C); key("reason"); string("already_committed")
                out.append(0x2C); key("commit"); int(commit)
                out.append(0x2C); key("committed_path"); string(path)
            case .namedTwice:
                out.append(0x2C); key("reason"); string("named_twice")
                out.append(0x2C); key("commit"); out.append("null")
                out.append(0x2C); key("committed_path"); out.append("null")
            }
            out.append(0x7D)
        }
        out.append(0x5D)
        out.append(0x2C); key("recovery"); out.append(0x5B)
        for (i, note) in notes.enumerated() {
            if i > 0 { out.append(0x2C) }
            string(note)
        }
        out.append(0x5D)
        out.append(0x2C); key("state")
        if let state {
            out.append(0x7B)
            key("users"); int(state.users)
            out.append(0x2C); key("identified_users"); int(state.identifiedUsers)
            out.append(0x2C); key("links"); int(state.links)
            out.append(0x2C); key("message_ids"); int(state.messageIDs)
            out.append(0x7D)
        } else {
            out.append("null")
        }
        out.append(0x2C); key("uncompressed_bytes"); int(uncompressedBytes)
        out.append(0x2C); key("elapsed_seconds")
        out.append(utf8: String(format3(elapsedSeconds)))
        out.append(0x2C); key("exit_status"); int(Int(exitStatus))
        out.append(0x7D)
        return out.withBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// The human summary for standard error.
    public var report: String {
        var lines: [String] = []
        for note in notes { lines.append("nudge-ingest run: recovered spool \(spool): \(note)") }
        let committed = skipped.filter { $0.reason != .namedTwice }.count
        let skippedLine = committed == 0 ? nil
            : "\(committed) input\(committed == 1 ? " was" : "s were") committed to this spool already, skipped"
        if inputs.isEmpty {
            lines.append("nudge-ingest run: nothing to do" + (skippedLine.map { ": " + $0 } ?? "") + " (spool \(spool))")
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
        if let skippedLine { lines.append("  \(skippedLine)") }
        lines.append("  inputs:")
        let width = min(inputs.map { $0.path.count }.max() ?? 0, 60)
        for input in inputs {
            let counts = input.counts
            var line = "    \(input.path.rightPadded(to: width))  \(group(counts.records).leftPadded(to: 9, with: " ")) = \(group(counts.accepted)) accepted + \(group(counts.dropped)) dropped"
            if input.status != .ok, let fault = input.fault {
                line += "  [\(input.status.rawValue.uppercased()) at byte \(fault.offset): \(fault.message)]"
            }
            lines.append(line)
        }
        let seconds = max(elapsedSeconds, 1e-9)
        let mb = Double(uncompressedBytes) / 1_000_000
        lines.append("  \(group(Int(Double(c.records) / seconds))) records/s, \(format1(mb / seconds)) MB/s uncompressed (\(format1(mb)) MB in \(format3(elapsedSeconds)) s)")
        if let state {
            lines.append("  spool state: \(group(state.users)) users (\(group(state.identifiedUsers)) identified), "
                         + "\(group(state.links)) links, \(group(state.messageIDs)) message ids")
        }
        if exitStatus != 0 {
            lines.append("  exit status \(exitStatus): \(faults) input\(faults == 1 ? " was" : "s were") unreadable or corrupt; the records before each fault were kept")
        }
        return lines.joined(separator: "\n")
    }
}

func group(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var result = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { result.append(",") }
        result.append(ch)
    }
    return value < 0 ? "-" + result : result
}

func percent(_ part: Int, of whole: Int) -> String {
    whole == 0 ? "" : "  (\(format1(Double(part) * 100 / Double(whole)))%)"
}

func format1(_ value: Double) -> String { fixed(value, decimals: 1) }
func format3(_ value: Double) -> String { fixed(value, decimals: 3) }

/// Fixed-point text without Foundation's locale-dependent formatting.
func fixed(_ value: Double, decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    let whole = scaled / Int(scale)
    let fraction = String(abs(scaled) % Int(scale)).leftPadded(to: decimals)
    return "\(scaled < 0 && whole == 0 ? "-" : "")\(whole).\(fraction)"
}
