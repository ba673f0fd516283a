import NudgeCore
import NudgeSpool

/// `nudge-ingest requeue`: puts rejected records back so that the next `replay` sends
/// them again, in spool order, each user's identify before its tracks.
///
/// The records leave the rejected spool (`rejected/rejected.ndjson.gz`) and join the checkpoint's `requeued`
/// set, in one crash-safe step: the rejected spool without them is written under a
/// hidden name and synced, the checkpoint that names it is the commit point, and the
/// rename follows (finished by the next replay or requeue if a kill came first).
/// A user's records travel together: a matched record brings its user's rejected
/// identifies and the tracks held back because of them (`identify_rejected`), and the
/// user is no longer treated as rejected.
package enum Requeue {
    package static func run(spool: String, filter: RequeueFilter, dryRun: Bool) throws(RequeueError) -> RequeueSummary {
        let ledger: Ledger
        let store: ReplayStore?
        var checkpoint: ReplayCheckpoint
        do {
            ledger = try Ledger.committed(inSpool: spool)
            store = dryRun ? nil : try ReplayStore(spool: spool, holderName: "requeue")
            if let store { checkpoint = store.checkpoint } else { checkpoint = try ReplayCheckpoint.saved(inSpool: spool) }
        } catch {
            throw .spool(error)
        }
        // (Not a dry run: opening the store put a committed rewrite in place already.)
        let (path, bytes): (String, [UInt8])
        do { (path, bytes) = try checkpoint.rejectedRecords(inSpool: spool) } catch { throw .spool(error) }
        let lines = try parse(bytes, path: path, ledger: ledger)

        var chosen = Set(lines.indices.filter { filter.matches(lines[$0]) })
        // A user's records travel together: its tracks need its identify acknowledged
        // first, so its rejected identifies come along, and with them the tracks that
        // were held back only because of them.
        let users = Set(chosen.map { lines[$0].extID })
        var identifiesAdded = 0
        for index in lines.indices where users.contains(lines[index].extID) {
            let line = lines[index]
            guard line.kind == "identify" || line.reason == "identify_rejected" else { continue }
            if chosen.insert(index).inserted && line.kind == "identify" { identifiesAdded += 1 }
        }
        var kept: [UInt8] = []
        kept.reserveCapacity(bytes.count)
        for index in lines.indices where !chosen.contains(index) { kept += lines[index].bytes }

        var summary = RequeueSummary(spool: spool, dryRun: dryRun)
        summary.requeued = chosen.count
        summary.identifiesAdded = identifiesAdded
        summary.remaining = lines.count - chosen.count
        let requeuedUsers = Set(chosen.filter { lines[$0].kind == "identify" }.map { lines[$0].extID })
        checkpoint.requeued.formUnion(chosen.map { lines[$0].sequence })
        summary.pending = checkpoint.requeued.count
        guard !dryRun, let store, !chosen.isEmpty else { return summary }
        // The spool holds ext_ids as JSON text; the checkpoint keeps them so.
        checkpoint.rejectedUsers = checkpoint.rejectedUsers.filter { user in
            !requeuedUsers.contains(decodedJSONText(user))
        }
        checkpoint.requeuedTotal += chosen.count
        // They are no longer rejected: the next replay's answer counts them again.
        checkpoint.rejected = max(0, checkpoint.rejected - chosen.count)
        do { try store.commitRequeue(kept: kept, checkpoint: checkpoint) } catch { throw .spool(error) }
        return summary
    }

    /// The lines of the rejected spool, with their sequences: from `accepted.sequence`,
    /// or (lines written before it was recorded) from the commit and line through the
    /// ledger's record counts.
    static func parse(_ bytes: [UInt8], path: String, ledger: Ledger) throws(RequeueError) -> [RejectedLine] {
        var firstSequence: [Int: Int] = [:]
        var running = 0
        for entry in ledger.entries {
            firstSequence[entry.commit] = running
            running += entry.acceptedRecords
        }
        var lines: [RejectedLine] = []
        var start = 0
        var number = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A).map { $0 + 1 } ?? bytes.count
            number += 1
            let slice = bytes[start..<end]
            start = end
            let object: JSONObject, reason: String, kind: String, extID: String, accepted: JSONObject
            do {
                object = try JSONValue(parsing: slice).object()
                (reason, kind) = (try object.string("reason"), try object.string("kind"))
                extID = try object.object("body").string("ext_id")
                accepted = try object.object("accepted")
            } catch {
                throw .malformed(path: path, line: number, problem: "not a JSON object with reason, kind, body and accepted")
            }
            let sequence: Int
            if let recorded = try? accepted.int("sequence") {
                sequence = recorded
            } else if let commit = try? accepted.int("commit"), let line = try? accepted.int("line"),
                      let first = firstSequence[commit] {
                sequence = first + line - 1
            } else {
                throw .malformed(path: path, line: number, problem: "its accepted position is not in the ledger")
            }
            lines.append(RejectedLine(bytes: slice, reason: reason, status: try? object.int("status"), kind: kind,
                                      extID: extID, sequence: sequence))
        }
        return lines
    }

    /// The text a JSON string's contents decode to (the checkpoint keeps ext_ids as
    /// the spool writes them, escapes included).
    static func decodedJSONText(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        return (try? JSONValue(parsing: Array(("\"" + text + "\"").utf8)).string()) ?? text
    }
}
