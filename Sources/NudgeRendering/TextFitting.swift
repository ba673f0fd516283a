import NudgeCore

// NudgeRendering: what people read. The operations (run, replay, audit, preview,
// redrive) return values; the command line and `serve` turn them into text tables,
// progress lines and HTML here, so that no operation's value type renders itself.

/// `head · tail` in at most `width - 1` columns (the last column left free, so that a
/// terminal never wraps it): `tail` shortened in its middle with `…`, then `head` cut.
package func fitted(_ head: String, _ tail: String, width: Int) -> String {
    let room = max(width - 1, 8)
    let headCount = head.count
    if headCount + 3 + tail.count <= room { return head + " · " + tail }
    let left = room - headCount - 3
    guard left >= 9 else { return String(head.prefix(room)) }
    let keepEnd = (left - 1) * 2 / 3
    let keepStart = left - 1 - keepEnd
    return head + " · " + tail.prefix(keepStart) + "…" + tail.suffix(keepEnd)
}

/// A time left as a progress line shows it: `1m 20s`, `2h 05m`, `12s`.
package func duration(_ seconds: Double) -> String {
    let total = Int(seconds.rounded(.up))
    if total < 60 { return "\(total)s" }
    if total < 3600 { return "\(total / 60)m \(String(total % 60).leftPadded(to: 2))s" }
    return "\(total / 3600)h \(String(total / 60 % 60).leftPadded(to: 2))m"
}
