// Fuzz target `gzip-reader`: the input is a whole input file (gzip or not). It is read
// three ways that must agree: inflated in one piece, inflated in small pieces into a
// small output buffer, and read from a file by `InputReader` with small reads. Where
// ISA-L can be used, its inflater is compared with zlib's as well (see `compareIsal`).

import Foundation
@testable import NudgeCore
@testable import NudgeIngest
@testable import NudgeSpool
@testable import NudgeSystem

/// Stops a pass whose output outgrows what a fuzz input should inflate to.
private struct OutputLimit: Error {}
private let outputLimit = 64 << 20

/// What one way of reading produced.
private struct Reading: Equatable {
    var bytes: [UInt8] = []
    var fault: GzipFault?
    var faultOffset = 0
    var overLimit = false
}

private func inflate(
    _ input: [UInt8], chunk: Int, outputCapacity: Int, isal: Bool = false
) -> Reading {
    var reading = Reading()
    let inflater: any GzipStreamInflater =
        isal ? try! IsalInflater(outputCapacity: outputCapacity) : GzipInflater(outputCapacity: outputCapacity)
    do {
        try forEachChunk(of: input, size: chunk) { piece in
            try inflater.inflate(piece) { inflated in
                reading.bytes.append(contentsOf: inflated)
                if reading.bytes.count > outputLimit { throw OutputLimit() }
            }
        }
        try inflater.finish()
    } catch let fault as GzipFault {
        reading.fault = fault
        reading.faultOffset = inflater.faultOffset
    } catch {
        reading.overLimit = true
    }
    return reading
}

private let scratchPath = "/tmp/nudge-fuzz-gzip-\(getpid())"

/// zlib's messages for the faults ISA-L's inflater must report exactly as zlib does
/// (header and trailer checks); other `.corrupt` faults are bad deflate data.
private let wrapperMessages: Set = [
    "incorrect data check", "incorrect length check", "header crc mismatch",
    "unknown header flags set", "unknown compression method",
]

private func isDeflateCorruption(_ reading: Reading) -> Bool {
    guard case .corrupt(let message)? = reading.fault else { return false }
    return !wrapperMessages.contains(message)
}

/// ISA-L against zlib, as `InputReader` relies on them: where ISA-L stops at a fault,
/// zlib reads the input again, skips the bytes ISA-L handed out and reports the fault
/// itself. So ISA-L must inflate a whole stream exactly as zlib does, must stop at
/// every stream zlib stops at (where, how, and with what message does not matter),
/// and must never hand out bytes zlib would not: what it handed out before stopping
/// is a prefix of zlib's bytes. The one exception, documented in IsalInflater: in
/// corrupt deflate data ISA-L may accept a Huffman table zlib rejects and hand out a
/// few more bytes.
private func compareIsal(_ input: [UInt8], zlib: Reading) {
    for (chunk, capacity) in [(max(input.count, 1), 1 << 16),
                              (chunkSize(for: input, limit: 61, salt: 4), chunkSize(for: input, limit: 4096, salt: 5))] {
        let isal = inflate(input, chunk: chunk, outputCapacity: capacity, isal: true)
        if isal.overLimit { return }
        let context = "(chunk \(chunk), output \(capacity)): zlib \(zlib.fault.map(\.message) ?? "whole") at "
            + "\(zlib.faultOffset), \(zlib.bytes.count) bytes; ISA-L \(isal.fault.map(\.message) ?? "whole") at "
            + "\(isal.faultOffset), \(isal.bytes.count) bytes"
        if isal.fault == nil {
            require(zlib.fault == nil && isal.bytes == zlib.bytes, "ISA-L read a stream whole that zlib reads otherwise \(context)")
        } else if isDeflateCorruption(zlib) {
            require(isal.bytes.starts(with: zlib.bytes) || zlib.bytes.starts(with: isal.bytes),
                    "ISA-L inflated other bytes than zlib before corrupt data \(context)")
        } else {
            require(zlib.bytes.starts(with: isal.bytes), "ISA-L handed out bytes zlib does not \(context)")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzipReader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let isGzip = input.starts(with: [0x1F, 0x8B])

    let whole = isGzip ? inflate(input, chunk: max(input.count, 1), outputCapacity: 1 << 16) : nil
    if whole?.overLimit == true { return 0 }
    if let whole {
        let pieces = inflate(input, chunk: chunkSize(for: input, limit: 61),
                             outputCapacity: chunkSize(for: input, limit: 4096, salt: 1))
        require(pieces == whole, "chunking changed the inflated stream: \(whole.fault.map(\.message) ?? "whole") at "
                + "\(whole.faultOffset) vs \(pieces.fault.map(\.message) ?? "whole") at \(pieces.faultOffset)")
        if whole.fault != nil {
            require(whole.faultOffset >= 0 && whole.faultOffset <= input.count, "fault offset \(whole.faultOffset)")
        }
        if InflateBackend.isalAvailable { compareIsal(input, zlib: whole) }
    }

    // The reader that `run` uses: format detection, small reads, any file.
    guard FileManager.default.createFile(atPath: scratchPath, contents: Data(input)) else {
        require(false, "cannot write \(scratchPath)")
        return 0
    }
    defer { unlink(scratchPath) }
    let reader = InputReader(chunkBytes: chunkSize(for: input, limit: 33, salt: 2),
                             inflateChunkBytes: chunkSize(for: input, limit: 512, salt: 3), maxLineBytes: 1 << 20)
    var streamed: [UInt8] = []
    var report: DecompressReport
    do {
        report = try reader.decompress(InputFile(path: scratchPath)) { bytes, fileBytesRead in
            require(fileBytesRead <= input.count, "read \(fileBytesRead) of \(input.count) bytes")
            streamed.append(contentsOf: bytes)
            if streamed.count > outputLimit { throw OutputLimit() }
        }
    } catch {
        return 0
    }
    if report.end == .complete {
        require(report.bytes == input.count, "the reader read \(report.bytes) of \(input.count) bytes")
    }
    require(report.uncompressedBytes == streamed.count, "uncompressed byte count")
    if let whole {
        require(report.format == .gzip && streamed == whole.bytes, "the reader inflated other bytes")
        switch report.end {
        case .complete: require(whole.fault == nil, "the reader missed a fault")
        case .corrupt(let fault): require(fault == whole.fault && report.faultOffset == whole.faultOffset, "fault differs")
        case .unreadable(let why): require(false, "unreadable: \(why)")
        case .stopped(let why): require(false, "a local file stopped as a remote one: \(why)")
        case .refused(let format): require(false, "a gzip input refused as \(format)")
        }
    } else if let format = RefusedFormat(head: input.prefix(6)) {
        // zip, bzip2, xz or zstd by its first bytes: refused, nothing of it read as records.
        require(report.end == .refused(format) && streamed.isEmpty, "\(format) input not refused")
    } else {
        require(report.format == .plain && streamed == input && report.end == .complete, "a plain input was altered")
    }
    return 0
}
