import NudgeCore
import NudgeSpool

/// The accepted side of the audit, by event: how many identifies, and how many tracks
/// of each event name, the accepted spool holds. Read whole from the committed accepted
/// files, so only `audit --html` pays for it.
package struct AcceptedEvents: Sendable {
    package var identifies = 0
    /// Track names (as Nudge receives them) and their counts, most first.
    package var tracks: [(name: String, count: Int)] = []

    package var total: Int { identifies + tracks.reduce(0) { $0 + $1.count } }

    package static func make(spool: String, progress: ScanProgress? = nil) throws(AuditError) -> AcceptedEvents {
        let ledger: Ledger
        do { ledger = try Ledger.committed(inSpool: spool) } catch { throw .spool(error) }
        progress?.begin(totalBytes: ledger.acceptedFiles.reduce(0) { $0 + $1.bytes })
        var lines = SpoolLineReader(folder: spool + "/accepted", files: ledger.acceptedFiles)
        lines.progress = progress
        var result = AcceptedEvents()
        var counts: [[UInt8]: Int] = [:]
        while true {
            let next: ArraySlice<UInt8>?
            do { next = try lines.nextLine() } catch { throw .reading(error) }
            guard let line = next else { break }
            let name: [UInt8]?? = line.withUnsafeBytes { bytes in
                try? Self.trackName(bytes)
            }
            switch name {
            case .some(.some(let name)): counts[name, default: 0] += 1
            case .some(.none): result.identifies += 1
            case .none:
                throw .reading(.malformed(path: lines.path(of: lines.fileIndex), line: lines.lineNumber,
                                          problem: "not an accepted record this tool wrote"))
            }
        }
        result.tracks = counts.map { (String(decoding: $0.key, as: UTF8.self), $0.value) }
            .sorted { ($0.count, $1.name) > ($1.count, $0.name) }
        return result
    }

    /// A track's `body.name`, or nil for an identify.
    private static func trackName(_ bytes: UnsafeRawBufferPointer) throws(JSONMembers.Malformed) -> [UInt8]? {
        var isTrack: Bool?
        var body: Range<Int>?
        try JSONMembers.forEach(in: bytes, object: 0..<bytes.count) { (key, value) throws(JSONMembers.Malformed) in
            if key.equals("kind") {
                let text = UnsafeRawBufferPointer(rebasing: bytes[value])
                isTrack = text.equals("\"track\"") ? true : text.equals("\"identify\"") ? false : nil
            } else if key.equals("body") {
                body = value
            }
        }
        guard let isTrack, let body, bytes[body.lowerBound] == 0x7B else { throw .init(problem: "no kind or body") }
        guard isTrack else { return nil }
        var name: [UInt8]?
        try JSONMembers.forEach(in: bytes, object: body) { (key, value) throws(JSONMembers.Malformed) in
            if key.equals("name") { name = JSONMembers.decodedString(bytes, value) }
        }
        guard let name else { throw .init(problem: "a track body without a name") }
        return name
    }
}
