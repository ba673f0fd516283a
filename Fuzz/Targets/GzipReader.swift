// Fuzz target `gzip-reader`: the input is a whole input file (gzip or not). It is read
// three ways that must agree: inflated in one piece, inflated in small pieces into a
// small output buffer, and read from a file by `InputReader` with small reads.

import Foundation
@testable import NudgeIngest

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

private func inflate(_ input: [UInt8], chunk: Int, outputCapacity: Int) -> Reading {
    var reading = Reading()
    let inflater = GzipInflater(outputCapacity: outputCapacity)
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
        }
    } else {
        require(report.format == .plain && streamed == input && report.end == .complete, "a plain input was altered")
    }
    return 0
}
