import NudgeCore
import NudgeIngest

extension ReplayProgress {
    /// One line for a terminal `width` columns wide:
    /// `12,000 of 61,238 records (19.6 %) · 0 rejected · 17/32 in flight · 3 retries (last: HTTP 503) · ETA 0:41`.
    /// What does not fit is left out, least useful first (in flight, retries, rejected);
    /// the counts and the ETA always stay.
    package func line(width: Int = 160) -> String {
        let share = total > 0 ? Double(answered) / Double(total) * 100 : 100
        var eta = "–"
        if answered > 0 && elapsedSeconds > 0.5 && total > answered {
            let seconds = Int((Double(total - answered) / (Double(answered) / elapsedSeconds)).rounded())
            eta = seconds >= 3600 ? "\(seconds / 3600):" + String(seconds / 60 % 60).leftPadded(to: 2) + ":"
                + String(seconds % 60).leftPadded(to: 2) : "\(seconds / 60):" + String(seconds % 60).leftPadded(to: 2)
        }
        let head = "\(group(answered)) of \(group(total)) records (\(fixed(share, decimals: 1)) %)"
        let tail = "ETA \(eta)"
        // In the order shown; `keep` ranks them: lower is kept longer.
        var parts: [(text: String, keep: Int)] = [
            ("\(group(rejected)) rejected", 1),
            ("\(inFlight)/\(concurrency) in flight", 3),
            ("\(group(retries)) retries", 2),
        ]
        if let lastProblem {
            // A failure's text can be long (a nested error): a glance is enough here.
            parts.append(("last: " + (lastProblem.count > 28 ? lastProblem.prefix(27) + "…" : lastProblem), 0))
        }
        let room = max(width - 1, 8)
        func joined(_ shown: [(text: String, keep: Int)]) -> String {
            ([head] + shown.map(\.text) + [tail]).joined(separator: " · ")
        }
        var shown = parts
        while joined(shown).count > room, let drop = shown.indices.max(by: { shown[$0].keep < shown[$1].keep }) {
            shown.remove(at: drop)
        }
        let line = joined(shown)
        return line.count > room ? String(line.prefix(room)) : line
    }
}
