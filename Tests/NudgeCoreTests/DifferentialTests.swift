import Foundation
import NudgeTestSupport
import Testing
@testable import NudgeCore

/// The byte-level code against independent implementations in Python, on hundreds of
/// thousands of generated and mutated inputs: the scanner against the standard `json`
/// module, the date-time parser against `datetime`, the writer against `json` again.
@Suite struct DifferentialTests {
    /// Runs a Python program over `inputs` (one per line on standard input) and returns
    /// its output lines, one per input.
    func python(_ program: String, _ inputs: [[UInt8]], arguments: [String] = []) throws -> [Substring] {
        let data = Data(inputs.map { $0 + [0x0A] }.joined())
        let result = try runProgram("/usr/bin/env", ["python3", "-c", program] + arguments, stdin: data)
        try #require(result.status == 0, "python3: \(result.stderr)")
        let lines = result.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        try #require(lines.count == inputs.count, "python3 answered \(lines.count) of \(inputs.count) inputs")
        return Array(lines)
    }

    // MARK: Scanner

    static let oracleFields = ["type", "event", "userId", "anonymousId", "messageId", "timestamp", "previousId",
                               "traits", "properties", "context"]

    /// Python's strict reading of each line: `0` when RFC 8259 (strict, UTF-8, no lone
    /// surrogates) refuses it; else the root's kind and, for an object, each field the
    /// rules read as `kind:hex` (a string's decoded UTF-8, a number's text), `-` when
    /// absent, the nested ones from the last `traits`/`context` object.
    static let scannerOracle = """
        import json, sys
        class Num:
            def __init__(self, text): self.text = text
        def refuse(name): raise ValueError(name)
        def strict(value):
            if isinstance(value, str): value.encode('utf-8')
            elif isinstance(value, list):
                for v in value: strict(v)
            elif isinstance(value, dict):
                for k, v in value.items(): strict(k); strict(v)
        def pairs(members):
            for k, v in members: strict(k); strict(v)   # repeated keys too
            return dict(members)
        def kind(v):
            if v is None: return 'null'
            if v is True: return 'true'
            if v is False: return 'false'
            if isinstance(v, str): return 'string'
            if isinstance(v, Num): return 'number'
            if isinstance(v, list): return 'array'
            return 'object'
        def field(obj, key):
            if not isinstance(obj, dict) or key not in obj: return '-'
            v = obj[key]
            if isinstance(v, str): return 'string:' + v.encode('utf-8').hex()
            if isinstance(v, Num): return 'number:' + v.text.encode().hex()
            return kind(v) + ':'
        TOP = sys.argv[1].split(',')
        out = []
        for raw in sys.stdin.buffer.read().split(b'\\n')[:-1]:
            try:
                v = json.loads(raw.decode('utf-8'), parse_constant=refuse, parse_int=Num, parse_float=Num,
                               object_pairs_hook=pairs)
                strict(v)
            except (ValueError, UnicodeError, RecursionError):
                out.append('0'); continue
            if not isinstance(v, dict):
                out.append('1 ' + kind(v)); continue
            nested = [field(v.get('traits'), k) for k in ('name', 'email', 'phone')]
            nested.append(field(v.get('context'), 'timezone'))
            out.append(' '.join(['1 object'] + [field(v, k) for k in TOP] + nested))
        sys.stdout.write('\\n'.join(out) + '\\n')
        """

    /// The scanner's reading of a line, in the oracle's notation.
    func scannerReading(_ line: [UInt8]) -> String {
        var event = ScannedEvent()
        return line.withUnsafeBytes { bytes in
            switch JSONScanner().scan(bytes, into: &event) {
            case .malformed: return "0"
            case .notAnObject(let kind): return "1 \(kind)"
            case .object:
                func field(_ span: JSONSpan) -> String {
                    switch span.kind {
                    case .absent: return "-"
                    case .string: return "string:" + hex(JSONString.decode(span.content(in: bytes)))
                    case .number: return "number:" + hex(Array(span.text(in: bytes)))
                    default: return "\(span.kind):"
                    }
                }
                let top = [event.type, event.event, event.userId, event.anonymousId, event.messageId, event.timestamp,
                           event.previousId, event.traits, event.properties, event.context]
                let nested = [event.traitsName, event.traitsEmail, event.traitsPhone, event.contextTimezone]
                return (["1 object"] + (top + nested).map(field)).joined(separator: " ")
            }
        }
    }

    /// 100,000 generated events and 100,000 mutations of them and of the published
    /// examples: the scanner's verdict, root kind and every field it extracts must be
    /// Python's.
    @Test func scannerAgreesWithPythonOnGeneratedAndMutatedLines() throws {
        let corpus = try Data(contentsOf: segmentCorpus.appendingPathComponent("segment-spec-examples.ndjson"))
            .split(separator: 0x0A).map(Array.init)
        var random = RandomJSON(seed: 20_261_124)
        var lines: [[UInt8]] = []
        for _ in 0..<100_000 { lines.append(random.event()) }
        for index in 0..<100_000 {
            let original = index % 3 == 0 ? corpus[index / 3 % corpus.count] : lines[index]
            lines.append(random.mutate(original))
        }
        let answers = try python(Self.scannerOracle, lines, arguments: [Self.oracleFields.joined(separator: ",")])

        var disagreements: [String] = []
        var tally = (invalid: 0, objects: 0, others: 0)
        for (line, answer) in zip(lines, answers) {
            let reading = scannerReading(line)
            if reading != answer {
                disagreements.append("\(String(decoding: line, as: UTF8.self))\n  scanner: \(reading)\n  python:  \(answer)")
            }
            if answer == "0" { tally.invalid += 1 } else if answer.hasPrefix("1 object") { tally.objects += 1 } else { tally.others += 1 }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements, first: \(disagreements.prefix(3).joined(separator: "\n"))")
        // Both verdicts and every root kind must be well represented, or the test proves little.
        #expect(tally.invalid > 40_000 && tally.objects > 100_000 && tally.others > 100, "\(tally)")
    }

    // MARK: Date-times

    /// An independent reading of the contract's date-time: a regular expression for the
    /// grammar, `datetime` for the calendar (years below 1 moved 400 years, one whole
    /// Gregorian cycle), JavaScript's `toISOString()` rules for the output.
    static let timestampOracle = """
        import datetime as dt, re, sys
        GRAMMAR = re.compile(rb'(\\d{4})-(\\d\\d)-(\\d\\d)[Tt](\\d\\d):(\\d\\d):(\\d\\d)(?:\\.(\\d+))?(?:([Zz])|([+-])(\\d\\d):?(\\d\\d))')
        CYCLE_MS = 146097 * 86400000
        NAIVE_EPOCH = dt.datetime(1970, 1, 1)
        def millis(text):
            m = GRAMMAR.fullmatch(text)
            if not m: return None
            y, mo, d, h, mi, s = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
            if h > 23 or mi > 59 or s > 59: return None
            offset = 0
            if not m.group(8):
                oh, om = int(m.group(10)), int(m.group(11))
                if oh > 23 or om > 59: return None
                offset = (oh * 60 + om) * (1 if m.group(9) == b'+' else -1)
            cycles = 1 if y < 1 else 0
            try: local = dt.datetime(y + 400 * cycles, mo, d, h, mi, s)
            except ValueError: return None
            fraction = int((m.group(7) or b'').ljust(3, b'0')[:3])
            total = (local - NAIVE_EPOCH) // dt.timedelta(milliseconds=1) - cycles * CYCLE_MS
            return total + fraction - offset * 60000, not m.group(8)
        def iso(ms):
            cycles = 1 if ms < -62135596800000 else (-1 if ms >= 253402300800000 else 0)
            t = NAIVE_EPOCH + dt.timedelta(milliseconds=ms + cycles * CYCLE_MS)
            year = t.year - 400 * cycles
            y = '%04d' % year if 0 <= year <= 9999 else ('+' if year > 0 else '-') + '%06d' % abs(year)
            return '%s-%02d-%02dT%02d:%02d:%02d.%03dZ' % (y, t.month, t.day, t.hour, t.minute, t.second, t.microsecond // 1000)
        out = []
        for text in sys.stdin.buffer.read().split(b'\\n')[:-1]:
            r = millis(text)
            out.append('-' if r is None else '%d %d %s' % (r[0], r[1], iso(r[0])))
        sys.stdout.write('\\n'.join(out) + '\\n')
        """

    /// 150,000 date-times, near misses and mutations: validity, instant, offset flag and
    /// the `toISOString()` text must be the oracle's.
    @Test func timestampsAgreeWithPythonsDatetime() throws {
        var random = RandomJSON(seed: 3339)
        var inputs: [[UInt8]] = []
        for _ in 0..<100_000 { inputs.append(Array(random.timestamp().utf8)) }
        for index in 0..<50_000 { inputs.append(random.mutate(inputs[index]).filter { $0 != 0x0A }) }
        let answers = try python(Self.timestampOracle, inputs)

        var disagreements: [String] = []
        var valid = 0
        for (input, answer) in zip(inputs, answers) {
            let parsed = input.withUnsafeBytes { Timestamp.parse($0) }
            let reading = parsed.map { "\($0.millisecondsSinceEpoch) \($0.hadNumericOffset ? 1 : 0) \($0.isoString)" } ?? "-"
            if reading != answer { disagreements.append("\(String(decoding: input, as: UTF8.self)): \(reading) vs \(answer)") }
            if parsed != nil { valid += 1 }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements: \(disagreements.prefix(5))")
        #expect(valid > 30_000 && valid < 120_000, "\(valid) valid")
    }

    // MARK: Writer

    /// Arbitrary bytes written as JSON strings read back, in Python, as the bytes decoded
    /// with U+FFFD for each ill-formed subpart; `props` written from random objects read
    /// back as the object with its numeric-offset date-times moved to UTC (the reference
    /// implementation's `rewrite_dates`) and, for identify, without `name`/`email`/`phone`.
    @Test func writerOutputReadsBackInPython() throws {
        var random = RandomJSON(seed: 8259)
        var generator = SeededGenerator(seed: 8259)
        let pieces: [[UInt8]] = [[0x41], [0x22], [0x5C], [0x00], [0x1F], [0x7F], [0xC3, 0xA9], [0xE2, 0x80, 0xA8],
                                 [0xF0, 0x9F, 0x98, 0x80], [0xEF, 0xBB, 0xBF], [0x80], [0xC3], [0xE2, 0x80], [0xED, 0xA0, 0x80],
                                 [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], [0xFF], [0x0A], [0x0D], [0x2F]]
        var lines: [[UInt8]] = []
        var checks: [String] = []
        for _ in 0..<20_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...24, using: &generator) { bytes += pieces.randomElement(using: &generator)! }
            var out = OutputBuffer(capacity: 16)
            out.append("{\"s\":")
            bytes.withUnsafeBytes { JSONOutput.appendStringRepairingUTF8($0, to: &out) }
            out.append("}")
            lines.append(out.bytes)
            checks.append("string " + hex(bytes))
        }
        var encoder = PropsEncoder()
        var objects = 0
        while objects < 20_000 {
            var object: [UInt8] = []
            random.object(depth: 0, into: &object)
            let wrapped = Array("{\"properties\":".utf8) + object + [0x7D]
            var scanned = ScannedEvent()
            let identify = objects % 2 == 0
            let written: [UInt8]? = wrapped.withUnsafeBytes { line in
                guard JSONScanner().scan(line, into: &scanned) == .object else { return nil }
                var out = OutputBuffer(capacity: 16)
                encoder.append(scanned.properties, in: line, droppingIdentityTraits: identify, to: &out)
                return out.bytes
            }
            guard let written else { continue }  // the generator's lone surrogates, raw controls
            lines.append(written)
            checks.append((identify ? "identify " : "track ") + hex(object))
            objects += 1
        }
        let program = """
            import json, sys
            sys.path.insert(0, sys.argv[1])
            from reference_ingest import rewrite_dates
            for line in sys.stdin.buffer.read().split(b'\\n')[:-1]:
                kind, payload, written = line.split(b' ', 2)
                data = bytes.fromhex(payload.decode())
                value = json.loads(written.decode('utf-8'))
                if kind == b'string':
                    ok = value == {'s': data.decode('utf-8', 'replace')}
                else:
                    expected = rewrite_dates(json.loads(data.decode('utf-8')))
                    if kind == b'identify':
                        for key in ('name', 'email', 'phone'): expected.pop(key, None)
                    ok = value == expected
                print('ok' if ok else 'differs')
            """
        let inputs = zip(checks, lines).map { Array("\($0) ".utf8) + $1 }
        let answers = try python(program, inputs, arguments: [repositoryRoot.appendingPathComponent("scripts").path])
        let differing = zip(lines, checks).enumerated().filter { answers[$0.offset] != "ok" }
        #expect(differing.isEmpty, "\(differing.count) differ, first: \(differing.prefix(2).map { "\($0.element.1) → \(String(decoding: $0.element.0, as: UTF8.self))" })")
    }
}

func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes { text += [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]] }
    return String(decoding: text, as: UTF8.self)
}
