import NudgeCore
import NudgeSpool

extension AuditReport {
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
        writeReasons(to: &out)
        writeEvents(to: &out)
        writeFiles(to: &out)
        writeDays(to: &out)
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

    /// `reasons`: each reason's count, share and example.
    private func writeReasons(to out: inout JSONWriter) {
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
    }

    /// `events`: the drops of each type and event name, by reason.
    private func writeEvents(to out: inout JSONWriter) {
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
    }

    /// `files`: each input's records, accepted, dropped, redriven and faults.
    private func writeFiles(to out: inout JSONWriter) {
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
    }

    /// `days`: the drops of each day, by reason.
    private func writeDays(to out: inout JSONWriter) {
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
    }

    private func reasonObject(_ counts: [(ReasonCode, Int)], _ out: inout JSONWriter) {
        out.beginObject("reasons")
        for (reason, count) in counts { out.value(reason.rawValue, count) }
        out.endObject()
    }
}
