import NudgeCore
import NudgeSpool

/// The outcome of `nudge-ingest run`: the contract's run summary.
public struct RunSummary: Sendable {
    /// The spool directory the run wrote to (`--spool`).
    public var spool: String
    /// The inputs this run committed, in the order read.
    public var inputs: [InputSummary] = []
    /// The counts over the inputs committed (an interrupted input's records are not).
    public var counts = OutcomeCounts()
    /// Wall-clock duration of the run, in seconds.
    public var elapsedSeconds: Double = 0
    /// Inputs the spool had committed already.
    public var skipped: [SkippedInput] = []
    /// What opening the spool repaired after an interrupted run.
    package var notes: [String] = []
    /// The identity state after the run (nil when nothing was processed, or the run
    /// was interrupted).
    package var state: StateStatistics?
    /// Bytes of the spool's `state/` on disk after the run (snapshot, journals, saved
    /// message ids, ledger).
    package var stateDiskBytes = 0
    /// The message-id state's memory budget (`--memory`), in bytes.
    package var memoryBudget = 0
    /// What the directory walks left out (hidden files, symbolic links, `--exclude`).
    package var discovery = Discovery()
    /// Inputs the run set out to process (committed ones skipped).
    package var planned = 0
    /// Ctrl-C stopped the run: `inputs` were committed, the one being read was not.
    public var interrupted = false
    /// Why the remote store stopped the run (S3 unreachable after its retries, a key
    /// refused, an object changed while read): `inputs` were committed, the one being
    /// read was not, and the same command continues from it.
    public var stopped: String?
    /// What was asked of S3, when the run read from it (listing included).
    package var remoteRequests: RemoteRequestCounts?
    /// Tracks this run dropped as `not_identified` or `anonymous_only` that the spool's
    /// identity state accepts now (their identify came later): what `redrive` would move.
    package var redrivable = 0
    /// Inputs refused when read, for their format (zip, bzip2, xz, zstd): not committed.
    /// (Files are refused before the run, by ``InputDiscovery``.)
    public var refused: [RefusedInput] = []

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
    /// Inputs that ended in a fault (`corrupt_input` entries this run wrote).
    public var faults: Int { counts[.corruptInput] }

    /// 0 when every input was read whole; 2 when some input was unreadable or corrupt,
    /// or S3 stopped the run (the contract's status, whatever else happened); else 1
    /// when an input was refused for its format; 130 when Ctrl-C interrupted the run.
    public var exitStatus: Int32 {
        interrupted ? 130 : faults > 0 || stopped != nil ? 2 : !refused.isEmpty ? 1 : 0
    }
    /// The `--json` document (`schemas/run-summary.schema.json`).
    public var json: String {
        var json = JSONWriter()
        json.beginObject()
        json.value("spool", spool)
        writeCounts(to: &json)
        json.value("corrupt_inputs", faults)
        json.beginArray("inputs")
        for input in inputs { Self.write(input, to: &json) }
        json.endArray()
        json.beginArray("skipped")
        for skip in skipped { Self.write(skip, to: &json) }
        json.endArray()
        writeLeftOut(to: &json)
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
        writeRemoteRequests(to: &json)
        json.array("recovery", notes)
        writeState(to: &json)
        json.value("uncompressed_bytes", uncompressedBytes)
        json.value("elapsed_seconds", elapsedSeconds, decimals: 3)
        json.value("exit_status", Int(exitStatus))
        json.endObject()
        return json.text
    }

    /// `records`, `accepted`, `dropped`, `accepted_by_kind` and `reasons`.
    private func writeCounts(to json: inout JSONWriter) {
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
    }

    /// One element of `inputs`.
    private static func write(_ input: InputSummary, to json: inout JSONWriter) {
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

    /// One element of `skipped`.
    private static func write(_ skip: SkippedInput, to json: inout JSONWriter) {
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

    /// `left_out`: what the directory walks left out.
    private func writeLeftOut(to json: inout JSONWriter) {
        json.beginObject("left_out")
        json.array("hidden", discovery.hidden)
        json.array("symbolic_links", discovery.symbolicLinks)
        json.array("excluded", discovery.excluded)
        json.array("loops", discovery.loops)
        json.array("broken_links", discovery.brokenLinks)
        json.array("spools", discovery.spools)
        json.endObject()
    }

    /// `s3`: what was asked of S3, or null.
    private func writeRemoteRequests(to json: inout JSONWriter) {
        guard let remote = remoteRequests else { return json.value("s3", nil as Int?) }
        json.beginObject("s3")
        json.value("requests", remote.requests)
        json.value("retries", remote.retries)
        json.value("resumes", remote.resumes)
        json.value("bytes", remote.bytes)
        json.endObject()
    }

    /// `state`: the identity state after the run, or null.
    private func writeState(to json: inout JSONWriter) {
        guard let state else { return json.value("state", nil as Int?) }
        json.beginObject("state")
        json.value("users", state.users)
        json.value("identified_users", state.identifiedUsers)
        json.value("links", state.links)
        json.value("message_ids", state.messageIDs)
        json.value("memory_budget_bytes", memoryBudget)
        json.value("message_id_memory_bytes", state.messageIDBytes)
        json.value("message_id_disk_bytes", state.messageIDDiskBytes)
        json.value("disk_bytes", stateDiskBytes)
        json.endObject()
    }
}
