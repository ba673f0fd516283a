import NudgeSystem

/// A compressed or archive format `run` does not read, known by its first bytes: read
/// as NDJSON, its bytes would become `malformed_json` drops committed for good, so such
/// an input is refused, with what to do, and nothing of it is committed.
public enum RefusedFormat: String, Sendable, Equatable, CaseIterable {
    case zip, bzip2, xz, zstd

    /// Bytes that decide it: the longest magic number (xz's) is six bytes.
    static let magicBytes = 6

    /// The format that `head` (an input's first bytes, up to ``magicBytes``) starts with,
    /// or nil for anything `run` reads (gzip, plain text).
    package init?(head: some Collection<UInt8>) {
        func starts(_ magic: [UInt8]) -> Bool { head.starts(with: magic) }
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) {
            self = .zip
        } else if starts([0x42, 0x5A, 0x68]) {
            self = .bzip2
        } else if starts([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) {
            self = .xz
        } else if starts([0x28, 0xB5, 0x2F, 0xFD]) {
            self = .zstd
        } else {
            return nil
        }
    }

    /// The format of the file at `path`'s first bytes; nil for one that cannot be read
    /// (reading it then reports why, as a fault).
    static func of(file path: some SystemPath) -> RefusedFormat? {
        guard let file = try? FileDescriptor.open(path, for: .reading) else { return nil }
        defer { file.close() }
        var head = [UInt8](repeating: 0, count: magicBytes)
        var count = 0
        // A short read (a file still being written) is read on, up to the magic's length.
        while count < magicBytes {
            guard let n = try? file.read(into: &head, count..<magicBytes), n > 0 else { break }
            count += n
        }
        return RefusedFormat(head: head.prefix(count))
    }

    /// What the input is, for a message: `a zip archive`.
    package var name: String {
        switch self {
        case .zip: "a zip archive"
        case .bzip2: "bzip2-compressed"
        case .xz: "xz-compressed"
        case .zstd: "zstd-compressed"
        }
    }

    /// What to do: the command that makes something `run` reads.
    package var advice: String {
        switch self {
        case .zip: "unzip it first (unzip FILE) and name the files it holds"
        case .bzip2: "decompress it first (bunzip2 -k FILE, or bzip2 -dc FILE | gzip > FILE.gz)"
        case .xz: "decompress it first (xz -dk FILE, or xz -dc FILE | gzip > FILE.gz)"
        case .zstd: "decompress it first (zstd -d FILE, or zstd -dc FILE | gzip > FILE.gz)"
        }
    }
}
