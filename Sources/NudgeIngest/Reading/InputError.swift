/// Why a run's command line names nothing to read: a usage error, found before the
/// spool is opened, so nothing is read or committed (a typo must not become a
/// permanent fault in the spool). Every problem of the command line is named at once.
package struct InputError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Problem: Sendable, Equatable {
        /// A path named on the command line that does not exist.
        case noSuchPath(String)
        /// A directory or `s3://` prefix under which the walk found no input file;
        /// `leftOut` says what the walk skipped there (hidden names, links, spools, …).
        case nothingFound(location: String, leftOut: [String])
        /// A path named on the command line that is a spool (`within` nil), or lies
        /// inside the spool at `within`.
        case spool(path: String, within: String?)
        /// An input in a format `run` does not read (zip, bzip2, xz, zstd).
        case refusedFormat(path: String, format: RefusedFormat, walked: Bool)
        /// The remote store's listing failed (no such bucket, credentials refused).
        case remote(RemoteReadError)
    }

    package var problems: [Problem]

    package init(_ problems: [Problem]) {
        self.problems = problems
    }

    package var description: String {
        var lines = problems.map(\.message)
        if problems.contains(where: { if case .remote = $0 { false } else { true } }) {
            lines.append("Nothing was read or committed.")
        }
        return lines.joined(separator: "\n")
    }
}

extension InputError.Problem {
    /// One line: what was looked at, and what to do.
    package var message: String {
        switch self {
        case .noSuchPath(let path):
            return "\(path): no such file or directory; check the path"
        case .nothingFound(let location, let leftOut):
            let remote = location.hasPrefix("s3://")
            var line = "\(location): no input \(remote ? "object under this prefix" : "file under this directory")"
            if !leftOut.isEmpty { line += " (" + leftOut.joined(separator: "; ") + ")" }
            return line + (remote ? "; check the bucket and prefix (aws s3 ls \(location))"
                                  : "; name the folder or files that hold the export")
        case .spool(let path, let within):
            return "\(path): " + (within.map { "inside the spool \($0)" } ?? "a spool (it holds state/ledger.ndjson)")
                + ", not an export: a spool's files are never input; name the export's files or folder instead"
        case .refusedFormat(let path, let format, let walked):
            return "\(path): \(format.name), not gzip or NDJSON; \(format.advice)"
                + (walked ? ", or leave it out with --exclude" : "")
        case .remote(let error):
            return error.message
        }
    }
}
