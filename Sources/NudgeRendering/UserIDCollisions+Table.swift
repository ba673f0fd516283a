import NudgeCore
import NudgeIngest

extension UserIDCollisions {
    /// `audit collisions` for a person: each ext_id, then its raw userIds and their records.
    package var table: String {
        guard !collisions.isEmpty else {
            return "No collisions in \(spool): every ext_id comes from one raw userId."
        }
        var lines = ["\(collisions.count) ext_id\(collisions.count == 1 ? "" : "s") in \(spool) merge several raw userIds "
                     + "(Nudge sees one user for each):"]
        for collision in collisions {
            lines.append("  \(collision.extID)  ← \(collision.userIDs.count) userIds, \(group(collision.records)) records")
            for form in collision.userIDs {
                lines.append("      " + ("\"" + form.userID + "\"").rightPadded(to: 40) + group(form.records).leftPadded(to: 10, with: " "))
            }
        }
        return lines.joined(separator: "\n")
    }
}
