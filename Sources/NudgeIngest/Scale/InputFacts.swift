import NudgeCore
import NudgeSpool
import NudgeSystem

/// `nudge-ingest facts`: one input's records as ``FactsRow``s, the first map step of a
/// run spread over many machines (`docs/design/spark-plan.md`).
///
/// The input is read as `run` reads it (``InputReader``: gzip members, plain NDJSON,
/// faults and their offsets, the line limit) and every line is parsed by the same
/// ``RecordParser``, so the rows are what `run`'s deciding step would be handed, in line
/// order. The file is gzip (spool members of about a mebibyte of rows, which `zcat`,
/// DuckDB and Spark read), written aside and renamed into place once whole: a killed
/// step leaves no file a later step could take for a whole one.
package struct InputFacts {
    /// How reading the input ended, and what it held: the facts file's companion, for
    /// the step that decides.
    package struct Summary: Sendable {
        package var path: String
        package var format: InputFormat
        /// Bytes read from the input, and inflated.
        package var bytes: Int
        package var uncompressedBytes: Int
        /// The content fingerprint `run`'s ledger records.
        package var fingerprint: String
        /// Records, one row each.
        package var records: Int
        /// How reading ended.
        package var status: Status
        /// A fault's compressed byte offset, the physical line it interrupted and why.
        package var fault: (offset: Int, line: Int, message: String)?
        /// Bytes of the facts file.
        package var factsBytes: Int

        /// `ok`, or what `run` would record of the input.
        package enum Status: String, Sendable {
            case ok
            /// A fault: the rows before it stand, as `run` keeps the records before one.
            case corrupt, unreadable
            /// Not NDJSON or gzip (zip, bzip2, xz, zstd): no rows, no file.
            case refused
            /// The remote store failed: no file; the same command reads it again.
            case stopped
        }

        /// 0 when the input was read whole, 2 at a fault or a stop, 1 when it was refused.
        package var exitStatus: Int32 {
            switch status {
            case .ok: 0
            case .refused: 1
            case .corrupt, .unreadable, .stopped: 2
            }
        }

        /// The summary as one JSON object (`schemas/facts-summary.schema.json`).
        package var json: [UInt8] {
            var writer = JSONWriter()
            writer.beginObject()
            writer.value("path", path)
            writer.value("format", format.rawValue)
            writer.value("bytes", bytes)
            writer.value("uncompressed_bytes", uncompressedBytes)
            writer.value("fingerprint", fingerprint)
            writer.value("records", records)
            writer.value("status", status.rawValue)
            if let fault {
                writer.beginObject("fault")
                writer.value("offset", fault.offset)
                writer.value("line", fault.line)
                writer.value("message", fault.message)
                writer.endObject()
            }
            writer.value("facts_bytes", factsBytes)
            writer.value("facts_version", FactsRow.version)
            writer.value("exit_status", Int(exitStatus))
            writer.endObject()
            return writer.withBytes { Array($0) }
        }
    }

    /// What reads the input (its line limit is the parser's).
    package var reader: InputReader
    /// Rows encoded before they are compressed and written.
    package var bufferBytes = SpoolMember.defaultInflatedBytes
    /// Lines parsed at a time.
    package var batchBytes = 256 << 10

    package init(reader: InputReader) {
        self.reader = reader
    }

    /// Reads `input` and writes its facts to `path` (replacing a file there); a
    /// `stopped` or `refused` input writes no file.
    package func write(_ input: InputFile, to path: String) throws(SpoolError) -> Summary {
        var summary = Summary(path: input.path, format: .plain, bytes: 0, uncompressedBytes: 0, fingerprint: "",
                              records: 0, status: .ok, fault: nil, factsBytes: 0)
        let aside = DurableFiles.asidePath(of: path)
        // The folders of `path`, made where missing (a job writes each input's facts
        // into a folder of its own).
        let parent = DurableFiles.folder(of: path)
        if parent != "." {
            var prefix = parent.hasPrefix("/") ? "/" : ""
            for component in parent.split(separator: "/") {
                prefix += component
                try Files.makeDirectory(prefix)
                prefix += "/"
            }
        }
        do throws(SpoolError) {
            let file = try Files.create(aside)
            defer { file.close() }
            var sink = Sink(file: file, path: aside)
            try read(input, into: &sink, summary: &summary)
            guard summary.status != .stopped && summary.status != .refused else {
                Files.remove(aside)
                return summary
            }
            summary.factsBytes = try sink.finish()
            try DurableFiles.putInPlace(aside, at: path)
            try DurableFiles.syncFolder(DurableFiles.folder(of: path))
            return summary
        } catch {
            Files.remove(aside)
            throw error
        }
    }

    /// Frames, parses and encodes `input` batch by batch.
    private func read(_ input: InputFile, into sink: inout Sink, summary: inout Summary) throws(SpoolError) {
        var parser = RecordParser(maxLineBytes: reader.maxLineBytes)
        let batch = ParsedBatch()
        var lines: [ParsedBatch.Line] = []
        let source = SourceFile(path: input.path)
        func flush() throws(SpoolError) {
            guard !lines.isEmpty else { return }
            parser.parse(lines, of: batch, source: source)
            for facts in batch.records { FactsRow.append(facts, of: batch, to: &sink.rows) }
            summary.records += batch.records.count
            batch.removeAll()
            lines.removeAll(keepingCapacity: true)
            try sink.writeIfFull(bufferBytes)
        }
        let report: ReadReport
        do {
            report = try reader.readLines(input) { line, _ in
                let start = batch.lines.count
                batch.lines.append(line.bytes)
                lines.append(ParsedBatch.Line(bytes: start..<batch.lines.count, number: line.number, length: line.length))
                if batch.lines.count >= batchBytes { try flush() }
            }
        } catch let error as SpoolError {
            throw error
        } catch {
            preconditionFailure("only writing the facts throws here: \(error)")
        }
        try flush()
        let stage = report.stage
        (summary.format, summary.bytes, summary.uncompressedBytes, summary.fingerprint)
            = (stage.format, stage.bytes, stage.uncompressedBytes, stage.fingerprint)
        summary.fault = report.fault
        switch stage.end {
        case .complete: break
        case .unreadable: summary.status = .unreadable
        case .corrupt: summary.status = .corrupt
        case .stopped(let failure):
            summary.status = .stopped
            summary.fault = (stage.faultOffset, report.faultLine, failure.message)
        case .refused(let format):
            summary.status = .refused
            summary.fault = (0, 0, RefusedInput(path: input.path, format: format).message)
        }
    }

    /// Rows on their way to the file: a header, then gzip members.
    private struct Sink: ~Copyable {
        let file: FileDescriptor
        let path: String
        var rows = OutputBuffer(capacity: SpoolMember.defaultInflatedBytes + (256 << 10))
        private var compressed: [UInt8] = []
        private let encoder = SpoolMemberEncoder()
        private var written = 0

        init(file: FileDescriptor, path: String) {
            (self.file, self.path) = (file, path)
            FactsRow.appendHeader(to: &rows)
        }

        mutating func writeIfFull(_ limit: Int) throws(SpoolError) {
            if rows.count >= limit { try write() }
        }

        /// Writes what is left and syncs; returns the file's bytes.
        mutating func finish() throws(SpoolError) -> Int {
            try write()
            try Files.sync(file, path: path)
            return written
        }

        private mutating func write() throws(SpoolError) {
            guard !rows.isEmpty else { return }
            compressed.removeAll(keepingCapacity: true)
            rows.withBytes { encoder.compressMembers($0, appendingTo: &compressed) }
            rows.removeAll()
            try Files.writeAll(file, compressed, path: path)
            written += compressed.count
        }
    }
}
