#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How an input's bytes were stored.
public enum InputFormat: String, Sendable {
    case gzip, plain
}

/// How reading one input ended.
public enum ReadEnd: Sendable, Equatable {
    /// Every byte was read; every gzip member ended cleanly.
    case complete
    /// The file could not be opened or read.
    case unreadable(String)
    /// The gzip stream is corrupt, truncated or followed by garbage.
    case corrupt(GzipFault)
}

/// What the reader saw of one input.
public struct ReadReport: Sendable {
    public var format: InputFormat = .plain
    /// Bytes read from the file (compressed bytes for gzip).
    public var bytes = 0
    /// Bytes after inflating.
    public var uncompressedBytes = 0
    public var end = ReadEnd.complete
    /// For a fault: the compressed byte offset where it was found.
    public var faultOffset = 0
    /// For a fault: the physical line it interrupted, and the fragment before it.
    public var faultLine = 0
    public var fragment: [UInt8] = []
    public var fragmentLength = 0
}

/// Reads one input in bounded chunks: detects gzip by its magic bytes, inflates every
/// member, frames lines, and hands each line to a closure. Memory is bounded by the
/// chunk size, zlib's window and the framer's line limit, whatever the input's size.
public struct InputReader {
    /// File bytes read at a time.
    public var chunkBytes: Int
    /// Inflated bytes handed to the framer at a time.
    public var inflateChunkBytes: Int
    public var maxLineBytes: Int

    public init(chunkBytes: Int = 1 << 20, inflateChunkBytes: Int = 256 << 10, maxLineBytes: Int) {
        self.chunkBytes = chunkBytes
        self.inflateChunkBytes = inflateChunkBytes
        self.maxLineBytes = maxLineBytes
    }

    /// Reads `input`; `onChunk` is told how many file bytes were read so far (for progress).
    public func read(
        _ input: InputFile,
        onChunk: (Int) -> Void = { _ in },
        onLine: (FramedLine) throws -> Void
    ) throws -> ReadReport {
        var report = ReadReport()
        if let reason = input.unreadableReason {
            report.end = .unreadable(reason)
            report.faultLine = 1
            return report
        }
        let fd = input.isStandardInput ? STDIN_FILENO : open(input.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            report.end = .unreadable(String(cString: strerror(errno)))
            report.faultLine = 1
            return report
        }
        defer { if !input.isStandardInput { close(fd) } }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(chunkBytes, 16), alignment: 16)
        defer { buffer.deallocate() }

        var framer = LineFramer(maxLineBytes: maxLineBytes)
        var inflater: GzipInflater?
        var decidedFormat = false
        var pending = 0  // bytes held in `buffer` before the format is known

        func recordFault(_ end: ReadEnd, offset: Int) {
            report.end = end
            report.faultOffset = offset
            if let fragment = framer.pendingFragment(limit: RecordEncoder.rawLimit) {
                (report.faultLine, report.fragment, report.fragmentLength) = fragment
            } else {
                report.faultLine = framer.linesSeen + 1
            }
        }

        func handle(_ chunk: UnsafeRawBufferPointer) throws -> Bool {
            report.bytes += chunk.count
            onChunk(report.bytes)
            if let inflater {
                do {
                    try inflater.inflate(chunk) { inflated in
                        report.uncompressedBytes += inflated.count
                        try framer.consume(inflated, onLine)
                    }
                } catch let fault as GzipFault {
                    recordFault(.corrupt(fault), offset: inflater.faultOffset)
                    return false
                }
            } else {
                report.uncompressedBytes += chunk.count
                try framer.consume(chunk, onLine)
            }
            return true
        }

        while true {
            let n = Glibc.read(fd, buffer.baseAddress! + pending, buffer.count - pending)
            if n < 0 {
                if errno == EINTR { continue }
                recordFault(.unreadable(String(cString: strerror(errno))), offset: report.bytes)
                return report
            }
            let available = pending + n
            if !decidedFormat {
                // Two bytes decide the format; a short first read waits for more.
                if n > 0 && available < 2 { pending = available; continue }
                decidedFormat = true
                pending = 0
                if available >= 2 && buffer[0] == 0x1F && buffer[1] == 0x8B {
                    report.format = .gzip
                    inflater = GzipInflater(outputCapacity: inflateChunkBytes)
                }
            }
            if available == 0 { break }
            guard try handle(UnsafeRawBufferPointer(rebasing: buffer[..<available])) else { return report }
            if n == 0 { break }
        }
        if let inflater {
            do {
                try inflater.finish()
            } catch let fault as GzipFault {
                recordFault(.corrupt(fault), offset: inflater.faultOffset)
                return report
            } catch {}
        }
        try framer.finish(onLine)
        return report
    }
}
