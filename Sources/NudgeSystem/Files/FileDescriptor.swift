import Glibc

/// An open file: the descriptor, with the calls the tool makes on it, each retrying
/// `EINTR` and throwing a typed ``SystemError``. A plain value: whoever opens one
/// closes it (``close()``), as with the descriptor itself.
package struct FileDescriptor: Hashable, Sendable {
    /// The descriptor number.
    package let rawValue: Int32

    package init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    package static let standardInput = FileDescriptor(rawValue: STDIN_FILENO)
    package static let standardOutput = FileDescriptor(rawValue: STDOUT_FILENO)
    package static let standardError = FileDescriptor(rawValue: STDERR_FILENO)

    /// How an existing file is opened.
    package enum Access: Sendable {
        case reading
        case writing
        /// Every write goes to the end (`O_APPEND`).
        case appending
        case readingAndWriting
        /// A folder, opened to sync the names in it.
        case directory

        var flags: Int32 {
            switch self {
            case .reading: O_RDONLY
            case .writing: O_WRONLY
            case .appending: O_WRONLY | O_APPEND
            case .readingAndWriting: O_RDWR
            case .directory: O_RDONLY | O_DIRECTORY
            }
        }
    }

    /// Opens an existing file. Descriptors are never inherited by child processes.
    package static func open(_ path: some SystemPath, for access: Access) throws(SystemError) -> FileDescriptor {
        FileDescriptor(rawValue: try path.call { Glibc.open($0, access.flags | O_CLOEXEC) })
    }

    /// Opens the file at `path`, creating it private to the user (`0600`: spools hold
    /// personal data) when it is missing; `truncating` empties one that exists.
    package static func create(
        _ path: some SystemPath, for access: Access = .writing, truncating: Bool = true
    ) throws(SystemError) -> FileDescriptor {
        let flags = access.flags | O_CREAT | O_CLOEXEC | (truncating ? O_TRUNC : 0)
        return FileDescriptor(rawValue: try path.call { Glibc.open($0, flags, 0o600) })
    }

    /// A second descriptor of the same open file (`dup`), for another thread to read
    /// and close on its own.
    package func duplicate() throws(SystemError) -> FileDescriptor {
        FileDescriptor(rawValue: try retryingInterrupts { Glibc.fcntl(rawValue, F_DUPFD_CLOEXEC, 0) })
    }

    /// Closes the descriptor; errors are not reported (the data was synced before, or
    /// does not matter).
    package func close() {
        _ = Glibc.close(rawValue)
    }

    /// Reads up to `buffer.count` bytes at the current offset; 0 at the end of the file.
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        try retryingInterrupts { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    /// Reads up to `buffer.count` bytes at `offset`, leaving the current offset alone.
    package func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(SystemError) -> Int {
        try retryingInterrupts { pread(rawValue, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// Reads `buffer.count` bytes at `offset`, fewer only where the file ends; returns how many.
    package func readFully(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(SystemError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + done)
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads `range.count` bytes into `bytes[range]` at `offset`, fewer only where the file ends.
    package func readFully(into bytes: inout [UInt8], _ range: Range<Int>, at offset: Int) throws(SystemError) -> Int {
        var done = 0
        while done < range.count {
            let n = try read(into: &bytes, (range.lowerBound + done)..<range.upperBound, at: offset + done)
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads up to `range.count` bytes into `bytes[range]`, at file offset `offset` or, when
    /// it is nil, at the current offset; returns how many were read, 0 at the end.
    package func read(into bytes: inout [UInt8], _ range: Range<Int>, at offset: Int? = nil) throws(SystemError) -> Int {
        // withUnsafeMutableBytes does not carry a typed error: the one bridge for reads.
        let result = bytes.withUnsafeMutableBytes { raw in
            Result { () throws(SystemError) in
                let target = UnsafeMutableRawBufferPointer(rebasing: raw[range])
                if let offset { return try read(into: target, at: offset) }
                return try read(into: target)
            }
        }
        return try result.get()
    }

    /// Reads from the current offset to the end: for small files (a config file, a
    /// checkpoint), not for inputs.
    package func readToEnd() throws(SystemError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = try read(into: &chunk, chunk.indices)
            if count == 0 { return bytes }
            bytes += chunk[..<count]
        }
    }

    /// Writes all of `bytes` at the current offset, whatever short writes the kernel makes.
    package func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            offset += try retryingInterrupts { Glibc.write(rawValue, bytes.baseAddress! + offset, bytes.count - offset) }
        }
    }

    /// Writes all of `bytes` starting at file offset `offset`.
    package func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            done += try retryingInterrupts {
                pwrite(rawValue, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            }
        }
    }

    /// Writes all of `bytes` at the current offset.
    package func writeAll(_ bytes: [UInt8]) throws(SystemError) {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(SystemError) in try writeAll(raw) } }
        try result.get()
    }

    /// Makes what was written durable (`fsync`).
    package func sync() throws(SystemError) {
        _ = try retryingInterrupts { fsync(rawValue) }
    }

    /// Cuts (or extends) the file to `size` bytes.
    package func truncate(to size: Int) throws(SystemError) {
        _ = try retryingInterrupts { ftruncate(rawValue, off_t(size)) }
    }

    /// Moves the current offset to `offset`.
    package func seek(to offset: Int) throws(SystemError) {
        _ = try retryingInterrupts { lseek(rawValue, off_t(offset), SEEK_SET) }
    }

    /// The current offset.
    package func currentOffset() throws(SystemError) -> Int {
        Int(try retryingInterrupts { lseek(rawValue, 0, SEEK_CUR) })
    }

    /// Moves the current offset to the end of the file and returns it.
    @discardableResult
    package func seekToEnd() throws(SystemError) -> Int {
        Int(try retryingInterrupts { lseek(rawValue, 0, SEEK_END) })
    }

    /// The open file's status.
    package func status() throws(SystemError) -> FileStatus {
        var info = stat()
        _ = try retryingInterrupts { fstat(rawValue, &info) }
        return FileStatus(info)
    }

    /// Takes an exclusive `flock` without waiting: false when another open file holds
    /// it. The kernel releases it when the descriptor is closed or the process ends.
    package func tryLockExclusively() throws(SystemError) -> Bool {
        if flock(rawValue, LOCK_EX | LOCK_NB) == 0 { return true }
        let error = SystemError.current
        if error == .wouldBlock { return false }
        throw error
    }

    /// Whether the descriptor is a terminal (progress lines are drawn only there).
    package var isTerminal: Bool { isatty(rawValue) != 0 }

    /// The width of the terminal the descriptor is, in columns; nil when it is none or
    /// does not say.
    package var terminalColumns: Int? {
        var size = winsize()
        guard ioctl(rawValue, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    /// Maps the first `count` bytes of the file, read-only, for one sequential read.
    package func mapForReading(count: Int) throws(SystemError) -> MappedFile {
        guard let base = mmap(nil, count, PROT_READ, MAP_PRIVATE, rawValue, 0), base != MAP_FAILED else {
            throw .current
        }
        madvise(base, count, MADV_SEQUENTIAL)
        return MappedFile(bytes: UnsafeRawBufferPointer(start: base, count: count))
    }
}

/// A file's bytes mapped into memory, unmapped when the value goes away.
package struct MappedFile: ~Copyable {
    /// The mapped bytes, valid while this value lives.
    package let bytes: UnsafeRawBufferPointer

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
    }
}
