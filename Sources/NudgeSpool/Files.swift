import Glibc
import NudgeCore

/// The few file-system calls the spool makes, with their errors typed.
package enum Files {
    /// Creates `path` as a private directory (`0700`) unless it exists.
    package static func makeDirectory(_ path: String) throws(SpoolError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw .cannotCreate(path: path, errno: errno) }
    }

    /// Copies the first `bytes` bytes of the file at `source` to `fd` (written at `path`).
    package static func copy(from source: String, bytes: Int, to fd: Int32, path: String) throws(SpoolError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw .cannotRead(path: source, errno: errno) }
        defer { close(input) }
        var chunk = [UInt8](repeating: 0, count: min(bytes, 1 << 20))
        var copied = 0
        while copied < bytes {
            let want = min(chunk.count, bytes - copied)
            let n = chunk.withUnsafeMutableBytes { pread(input, $0.baseAddress, want, off_t(copied)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .cannotRead(path: source, errno: n == 0 ? EIO : errno) }
            try writeAll(fd, Array(chunk[..<n]), path: path)
            copied += n
        }
    }

    /// Makes the names in a directory (renames, removals) durable.
    package static func syncDirectory(_ path: String) throws(SpoolError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotWrite(path: path, errno: errno) }
        defer { close(fd) }
        if fsync(fd) != 0 && errno != EINVAL { throw .cannotWrite(path: path, errno: errno) }
    }

    /// Creates (or truncates) a private file (`0600`) for writing.
    package static func create(_ path: String) throws(SpoolError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .cannotCreate(path: path, errno: errno) }
        return fd
    }

    /// Writes all of `bytes`, retrying short writes.
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SpoolError) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw .cannotWrite(path: path, errno: errno)
            }
            offset += n
        }
    }

    /// Writes all of `bytes`: `withUnsafeBytes` does not carry a typed error, so this
    /// is the one place that bridges it.
    package static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SpoolError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(SpoolError) in try writeAll(fd, raw, path: path) }
        }
        try result.get()
    }

    package static func sync(_ fd: Int32, path: String) throws(SpoolError) {
        if fsync(fd) != 0 { throw .cannotWrite(path: path, errno: errno) }
    }

    package static func rename(_ from: String, _ to: String) throws(SpoolError) {
        if Glibc.rename(from, to) != 0 { throw .cannotWrite(path: to, errno: errno) }
    }

    /// The names in a folder, sorted bytewise ("." and ".." left out).
    package static func names(in folder: String) -> [String] {
        guard let dir = opendir(folder) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// A whole (small) file's bytes, or nil when it cannot be read.
    package static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return bytes }
            bytes += chunk[..<n]
        }
    }

    /// The size of a regular file, or nil when there is none.
    package static func size(of path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int(info.st_size)
    }
}
