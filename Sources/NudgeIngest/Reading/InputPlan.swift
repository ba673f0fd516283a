import NudgeCore
import NudgeSpool
import NudgeSystem

/// Which inputs a run processes, and which it skips.
package struct InputPlan: Sendable {
    package var toProcess: [InputFile] = []
    package var skipped: [SkippedInput] = []
    /// Absolute paths of `toProcess` (nil for standard input or a path that cannot be resolved).
    var absolutePaths: [String?] = []
    /// Sizes of `toProcess`, as the plan found them (nil for standard input, a FIFO or a
    /// path that cannot be read): the run's progress counts against them.
    var sizes: [Int?] = []
}

extension Spool {
    /// Matches `inputs` against the ledger. An input whose absolute path, size and
    /// content fingerprint are those of a committed input is skipped; so is one with
    /// the size and fingerprint of a committed input under another path (a moved or
    /// copied archive), and a path named twice. A path the ledger knows with other
    /// content is refused with `changedInputs`, or processed as a new input when
    /// `reprocessChanged`. An empty file is skipped and not committed; of inputs of
    /// this run with the same bytes, only the first is processed. Standard input, and
    /// inputs that could not be read when they were committed, are always processed.
    /// Only inputs whose size matches a committed one's, or another input's, are read
    /// here, to compute their fingerprint.
    ///
    /// An object in S3 is known by its `s3://` URL, size and ETag: the same three
    /// committed are skipped without reading it, another ETag or size under the URL is a
    /// change. An object whose size and ETag are those of a committed object elsewhere
    /// is a copy of it; otherwise, when some committed input has its size, it is read
    /// from `remote` to compare fingerprints, as a file would be.
    package func plan(
        _ inputs: [InputFile], reprocessChanged: Bool, remote: (any RemoteInputSource)? = nil
    ) throws(SpoolError) -> InputPlan {
        var committed = CommittedInputs(ledger: ledger, remote: remote)
        var plan = InputPlan()
        for input in inputs {
            let placement = if let object = input.remote { committed.place(object, of: input) } else { committed.place(file: input) }
            switch placement {
            case .skip(let reason):
                plan.skipped.append(SkippedInput(path: input.path, reason: reason))
            case .process(let absolutePath, let size):
                plan.toProcess.append(input)
                plan.absolutePaths.append(absolutePath)
                plan.sizes.append(size)
            }
        }
        if !committed.changed.isEmpty && !reprocessChanged { throw .changedInputs(committed.changed) }
        return Self.skippingCopies(in: plan, fingerprints: &committed.fingerprints)
    }

    /// `plan` without the inputs whose bytes an earlier input of it has: inputs of the
    /// same size are fingerprinted, the first of each content is kept.
    private static func skippingCopies(in plan: InputPlan, fingerprints: inout Fingerprints) -> InputPlan {
        var sizeCounts: [Int: Int] = [:]
        for case let size? in plan.sizes { sizeCounts[size, default: 0] += 1 }
        guard sizeCounts.values.contains(where: { $0 > 1 }) else { return plan }
        var kept = InputPlan()
        kept.skipped = plan.skipped
        var firstWith: [String: String] = [:]
        for (index, input) in plan.toProcess.enumerated() {
            if let size = plan.sizes[index], sizeCounts[size]! > 1, let fingerprint = fingerprints.of(input) {
                let key = "\(size):\(fingerprint)"
                if let first = firstWith[key] {
                    kept.skipped.append(SkippedInput(path: input.path, reason: .sameContent(path: first)))
                    continue
                }
                firstWith[key] = input.path
            }
            kept.toProcess.append(input)
            kept.absolutePaths.append(plan.absolutePaths[index])
            kept.sizes.append(plan.sizes[index])
        }
        return kept
    }

    /// The input's absolute path, symbolic links resolved.
    static func absolutePath(_ input: InputFile) -> String? {
        FileSystem.canonicalPath(input).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// The ledger's committed inputs, by absolute path (or `s3://` URL) and by size, and
/// what a plan found of the inputs so far: which paths it has met, which changed since
/// they were committed.
private struct CommittedInputs {
    /// Whether a plan processes an input, and then under which absolute path and size.
    enum Placement {
        case skip(SkippedInput.Reason)
        case process(absolutePath: String?, size: Int?)
    }

    var fingerprints: Fingerprints
    private var byPath: [String: (commit: Int, input: LedgerInput)] = [:]
    private var bySize: [Int: [(commit: Int, input: LedgerInput)]] = [:]
    private var seen: Set<String> = []
    /// Inputs the ledger knows under their path with other content.
    private(set) var changed: [ChangedInput] = []

    init(ledger: Ledger, remote: (any RemoteInputSource)?) {
        fingerprints = Fingerprints(remote: remote)
        for entry in ledger.entries {
            for input in entry.inputs where input.status != .unreadable {
                if let absolute = input.absolutePath { byPath[absolute] = (entry.commit, input) }
                bySize[input.size, default: []].append((entry.commit, input))
            }
        }
    }

    /// An object in S3: known by its URL, size and ETag.
    mutating func place(_ object: RemoteObject, of input: InputFile) -> Placement {
        guard seen.insert(object.url).inserted else { return .skip(.namedTwice) }
        if object.size == 0 { return .skip(.empty) }
        if let known = byPath[object.url] {
            if known.input.size == object.size && known.input.etag == object.etag {
                return .skip(.committed(commit: known.commit, path: known.input.path))
            }
            changed.append(ChangedInput(path: input.path, change:
                "ETag \(known.input.etag ?? "none"), \(known.input.size) bytes when committed (commit \(known.commit)); "
                + "ETag \(object.etag), \(object.size) bytes now"))
        } else if let candidates = bySize[object.size],
                  let match = candidates.first(where: { $0.input.etag == object.etag })
                      ?? fingerprints.of(input).flatMap({ digest in candidates.first { $0.input.fingerprint == digest } }) {
            return .skip(.committed(commit: match.commit, path: match.input.path))
        }
        return .process(absolutePath: object.url, size: object.size)
    }

    /// A file (or standard input): known by its absolute path, size and fingerprint.
    mutating func place(file input: InputFile) -> Placement {
        guard !input.isStandardInput, let absolute = Spool.absolutePath(input) else {
            return .process(absolutePath: nil, size: nil)
        }
        guard seen.insert(absolute).inserted else { return .skip(.namedTwice) }
        let size = input.regularFileSize
        if let size {
            if size == 0 { return .skip(.empty) }
            if let known = byPath[absolute] {
                let fingerprint = known.input.size == size ? fingerprints.of(input) : nil
                if fingerprint == known.input.fingerprint {
                    return .skip(.committed(commit: known.commit, path: known.input.path))
                }
                let what = known.input.size != size
                    ? "\(known.input.size) bytes when committed (commit \(known.commit)), \(size) bytes now"
                    : "same size, other content than when committed (commit \(known.commit))"
                changed.append(ChangedInput(path: input.path, change: what))
            } else if let candidates = bySize[size], let fingerprint = fingerprints.of(input),
                      let match = candidates.first(where: { $0.input.fingerprint == fingerprint }) {
                return .skip(.committed(commit: match.commit, path: match.input.path))
            }
        }
        return .process(absolutePath: absolute, size: size)
    }
}

/// The ``ContentHasher`` digests of a plan's inputs, each read at most once: an object
/// in S3 is fetched whole to hash it, and two objects with the same size and ETag hold
/// the same bytes.
private struct Fingerprints {
    let remote: (any RemoteInputSource)?
    private var known: [String: String?] = [:]

    init(remote: (any RemoteInputSource)?) {
        self.remote = remote
    }

    /// The digest of `input`'s bytes, or nil when it cannot be read.
    mutating func of(_ input: InputFile) -> String? {
        let identity = input.remote.map { "object \($0.size) \($0.etag)" } ?? "file " + input.path
        if let digest = known[identity] { return digest }
        let digest = Self.read(input, remote: remote)
        known[identity] = digest
        return digest
    }

    private static func read(_ input: InputFile, remote: (any RemoteInputSource)?) -> String? {
        guard let opened = try? OpenedInput.open(input, remote: remote) else { return nil }
        defer { opened.close() }
        var hasher = ContentHasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            guard let n = try? opened.read(into: buffer) else { return nil }
            if n == 0 { return hasher.hexDigest }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
    }
}
