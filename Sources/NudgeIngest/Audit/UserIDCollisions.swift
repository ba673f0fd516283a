import NudgeCore
import NudgeSpool

/// `nudge-ingest audit collisions`: distinct raw `userId`s that Nudge's sanitising
/// (spaces to `_`, then lowercase) merges into one `ext_id`: a silent merge of what may
/// be different people (`schemas/audit-collisions.schema.json`).
///
/// Read from the identity state, which counts, per user, the records that named it by
/// a `userId` (identifies, tracks past rule 9, and aliases that link) and
/// the raw forms that sanitising changed. A form equal to its `ext_id` has the rest.
package struct UserIDCollisions: Sendable {
    package struct Collision: Sendable {
        package var extID: String
        /// Every raw form seen, most records first.
        package var userIDs: [(userID: String, records: Int)]
        package var records: Int { userIDs.reduce(0) { $0 + $1.records } }
    }

    package var spool: String
    /// Most records first.
    package var collisions: [Collision]

    /// Reads the spool's identity state (without the lock; nothing is changed).
    package static func make(spool: String) throws(SpoolError) -> UserIDCollisions {
        let state = try Spool.readState(directory: spool)
        var formsByUser: [UInt32: [(userID: String, records: Int)]] = [:]
        for form in 0..<state.forms.count where state.forms.counts[form] > 0 {
            formsByUser[state.forms.users[form], default: []].append(
                (String(decoding: state.forms.raw(form), as: UTF8.self), Int(state.forms.counts[form])))
        }
        var collisions: [Collision] = []
        for (user, forms) in formsByUser {
            var extID: [UInt8] = []
            state.appendExtID(of: user, to: &extID)
            let text = String(decoding: extID, as: UTF8.self)
            var userIDs = forms
            let plain = Int(state.userRecords[Int(user)]) - forms.reduce(0) { $0 + $1.records }
            if plain > 0 { userIDs.append((text, plain)) }
            guard userIDs.count >= 2 else { continue }
            userIDs.sort { ($0.records, $1.userID) > ($1.records, $0.userID) }
            collisions.append(Collision(extID: text, userIDs: userIDs))
        }
        collisions.sort { ($0.records, $1.extID) > ($1.records, $0.extID) }
        return UserIDCollisions(spool: spool, collisions: collisions)
    }

    package var json: String {
        var out = JSONWriter()
        out.beginObject()
        out.value("spool", spool)
        out.beginArray("collisions")
        for collision in collisions {
            out.beginObject()
            out.value("ext_id", collision.extID)
            out.value("records", collision.records)
            out.beginArray("user_ids")
            for form in collision.userIDs {
                out.beginObject()
                out.value("user_id", form.userID)
                out.value("records", form.records)
                out.endObject()
            }
            out.endArray()
            out.endObject()
        }
        out.endArray()
        out.endObject()
        return out.text
    }

    /// `ext_id,user_id,records`, a row per raw form.
    package var csv: String {
        (["ext_id,user_id,records"] + collisions.flatMap { collision in
            collision.userIDs.map { [collision.extID, $0.userID, String($0.records)].map(csvField).joined(separator: ",") }
        }).joined(separator: "\r\n")
    }
}
