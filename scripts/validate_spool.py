#!/usr/bin/env python3
"""Validate a nudge-ingest spool (and optionally run summaries) against schemas/.

Usage:
    python3 scripts/validate_spool.py --spool DIR [--summary FILE]...

Checks:
  * every line of DIR/accepted/*.ndjson[.gz] against accepted-record.schema.json
    and every line of DIR/dropped/*.ndjson[.gz] against dropped-record.schema.json,
    each parsed by a strict JSON parser (UTF-8 only; no NaN/Infinity; no repeated
    keys; no lone surrogates; no blank lines; every line ends in "\\n");
  * each --summary FILE (the output of `nudge-ingest run --json`) against
    run-summary.schema.json, plus the invariants a schema cannot state;
  * across the spool: a string message_id is carried by at most one record not
    dropped as duplicate_message_id, every duplicate_message_id names an id seen
    in such a record, and every accepted track's ext_id has an accepted identify;
  * with summaries: the spool holds exactly what the summaries say was written
    (line counts, counts by kind, by reason and by input file, and the faults).
    Give every summary of every run on the spool (--summary may be repeated);
  * the ledger (DIR/state/ledger.ndjson) against ledger-entry.schema.json and its
    CRC-32s; commits numbered 1, 2, … ; each commit's spool files with the sizes and
    line counts the ledger gives (compressed ones member by member: the "NI" field's
    lengths, CRC-32, whole records); no spool file outside the ledger; no hidden
    leftovers; and every state file (snapshot, journals) read with this script's own
    reader of the format (trailer, CRC-32, sections that add up).

Exits 0 when everything is valid, 1 otherwise (2 for bad arguments).
"""

import argparse
import collections
import gzip
import json
import struct
import sys
import zlib
from pathlib import Path

try:
    from jsonschema import Draft202012Validator
except ImportError:  # pragma: no cover
    sys.exit("validate_spool.py needs the jsonschema package: pip install jsonschema")

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"

REASONS = [
    "line_too_long",
    "malformed_json",
    "not_an_object",
    "duplicate_message_id",
    "missing_type",
    "unsupported_type",
    "missing_user_id",
    "anonymous_only",
    "invalid_user_id",
    "missing_event",
    "invalid_timestamp",
    "not_identified",
    "corrupt_input",
]

RAW_TRUNCATED_MAX_BYTES = 4096
MAX_ERRORS_SHOWN = 200

# Accepted props may nest about 1,000 deep (the contract's input limit) plus a
# few levels of envelope; the json module recurses once per level.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


class StrictJSONError(ValueError):
    pass


def _reject_constant(name):
    raise StrictJSONError(f"non-standard JSON constant {name}")


def _no_duplicate_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise StrictJSONError(f"object repeats key {key!r}")
        obj[key] = value
    return obj


def _check_no_lone_surrogates(value):
    """Python's json accepts "\\ud800"; strict RFC 8259 text as UTF-8 cannot hold it."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings = (item,)
        elif isinstance(item, dict):
            strings = tuple(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
            continue
        else:
            continue
        for s in strings:
            try:
                s.encode("utf-8")
            except UnicodeEncodeError:
                raise StrictJSONError(f"string holds a lone surrogate: {s[:60]!r}") from None


def strict_loads(data: bytes):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise StrictJSONError(f"not valid UTF-8 ({e.reason} at byte {e.start})") from None
    if text.startswith("\ufeff"):
        raise StrictJSONError("starts with a byte-order mark")
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicate_keys,
        )
    except json.JSONDecodeError as e:
        raise StrictJSONError(f"invalid JSON: {e}") from None
    except RecursionError:
        raise StrictJSONError("JSON nested too deeply for this validator") from None
    _check_no_lone_surrogates(value)
    return value


class Report:
    def __init__(self):
        self.count = 0

    def error(self, where, message):
        self.count += 1
        if self.count <= MAX_ERRORS_SHOWN:
            print(f"{where}: {message}", file=sys.stderr)
        elif self.count == MAX_ERRORS_SHOWN + 1:
            print(f"... (only the first {MAX_ERRORS_SHOWN} errors are shown)", file=sys.stderr)


def json_path(error):
    parts = ["$"]
    for p in error.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else f".{p}")
    return "".join(parts)


def rule_hint(validator, error):
    """The description of the rule an error broke, when the schema gives one.

    That is the description of the innermost `allOf` entry on the error's schema
    path (the per-reason and per-kind rules), or of the failing subschema itself
    for a `not`.
    """
    hint = None
    node = validator.schema
    path = list(error.absolute_schema_path)[:-1]  # up to the failing keyword's subschema
    previous = None
    for key in path:
        if key == "$ref" or not isinstance(node, (dict, list)):
            break
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
        if previous == "allOf" and isinstance(node, dict) and "description" in node:
            hint = node["description"]
        previous = key
    if error.validator == "not" and isinstance(error.schema, dict) and "description" in error.schema:
        hint = error.schema["description"]
    return hint


def schema_errors(validator, instance):
    errors = sorted(validator.iter_errors(instance), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    messages = []
    for e in errors:
        hint = rule_hint(validator, e)
        messages.append(f"schema: {json_path(e)}: {e.message}" + (f" [{hint}]" if hint else ""))
    return messages


def load_validator(name):
    path = SCHEMA_DIR / name
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        sys.exit(f"{path}: cannot load schema: {e}")
    Draft202012Validator.check_schema(schema)
    # No format_checker: formats are annotations only.
    return Draft202012Validator(schema)


def spool_files(directory: Path):
    """The spool's NDJSON files in name order, and anything else found there."""
    if not directory.exists():
        return [], []
    files, others = [], []
    for p in sorted(directory.iterdir(), key=lambda p: p.name.encode("utf-8", "surrogateescape")):
        if p.is_file() and (p.name.endswith(".ndjson") or p.name.endswith(".ndjson.gz")):
            files.append(p)
        else:
            others.append(p)
    return files, others


def read_lines(path: Path, report: Report):
    """Yield (line_number, bytes) for each line of a spool file, checking the framing."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        report.error(str(path), f"cannot read: {e}")
        return
    if not data:
        return
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    else:
        report.error(f"{path}:{len(lines)}", "last line does not end in a newline")
    for number, line in enumerate(lines, 1):
        if line.strip(b" \t\r") == b"":
            report.error(f"{path}:{number}", "blank line (every spool line must hold one record)")
            continue
        yield number, line


def checked_record(where, line, validator, report):
    """One NDJSON line parsed strictly and checked against its schema; None when it is not JSON."""
    try:
        record = strict_loads(line)
    except StrictJSONError as e:
        report.error(where, str(e))
        return None
    for message in schema_errors(validator, record):
        report.error(where, message)
    return record


def validate_spool_kind(directory, validator, report, on_record):
    files, others = spool_files(directory)
    for p in others:
        print(f"note: ignoring {p} (not a *.ndjson or *.ndjson.gz file)", file=sys.stderr)
    lines = 0
    for path in files:
        for number, line in read_lines(path, report):
            lines += 1
            where = f"{path}:{number}"
            record = checked_record(where, line, validator, report)
            if isinstance(record, dict):
                # Tallied even when invalid, so that one bad record does not
                # also show up as a count mismatch.
                on_record(where, record)
    return lines


def check_summary_invariants(where, s, report):
    def check(cond, message):
        if not cond:
            report.error(where, message)

    r = s["reasons"]
    check(s["records"] == s["accepted"] + s["dropped"],
          f"records ({s['records']}) != accepted ({s['accepted']}) + dropped ({s['dropped']})")
    kinds = s["accepted_by_kind"]
    check(s["accepted"] == kinds["identify"] + kinds["track"],
          f"accepted ({s['accepted']}) != accepted_by_kind.identify ({kinds['identify']})"
          f" + accepted_by_kind.track ({kinds['track']})")
    without_corrupt = sum(r[k] for k in REASONS if k != "corrupt_input")
    check(s["dropped"] == without_corrupt,
          f"dropped ({s['dropped']}) != sum of reasons except corrupt_input ({without_corrupt})")
    check(s["corrupt_inputs"] == r["corrupt_input"],
          f"corrupt_inputs ({s['corrupt_inputs']}) != reasons.corrupt_input ({r['corrupt_input']})")

    totals = collections.Counter()
    faulty = 0
    for i, inp in enumerate(s["inputs"]):
        w = f"inputs[{i}] ({inp['path']})"
        check(inp["records"] == inp["accepted"] + inp["dropped"],
              f"{w}: records ({inp['records']}) != accepted ({inp['accepted']}) + dropped ({inp['dropped']})")
        if inp["format"] == "plain":
            check(inp["uncompressed_bytes"] == inp["bytes"],
                  f"{w}: plain input with uncompressed_bytes ({inp['uncompressed_bytes']}) != bytes ({inp['bytes']})")
        if inp["status"] != "ok":
            faulty += 1
        for k in ("records", "accepted", "dropped", "uncompressed_bytes"):
            totals[k] += inp[k]
    for k in ("records", "accepted", "dropped", "uncompressed_bytes"):
        check(s[k] == totals[k], f"{k} ({s[k]}) != sum of inputs[].{k} ({totals[k]})")
    check(s["corrupt_inputs"] == faulty,
          f"corrupt_inputs ({s['corrupt_inputs']}) != number of inputs whose status is not ok ({faulty})")
    if s.get("interrupted"):
        check(s["exit_status"] == 130, f"exit_status is {s['exit_status']} though the run was interrupted (expected 130)")
    elif faulty:
        check(s["exit_status"] == 2, f"exit_status is {s['exit_status']} though {faulty} input(s) faulted (expected 2)")
    elif s.get("refused"):
        check(s["exit_status"] == 1, f"exit_status is {s['exit_status']} though an input was refused for its format (expected 1)")
    else:
        check(s["exit_status"] != 2, "exit_status is 2 though every input was read whole")


def count_lines(path: Path) -> int:
    if path.name.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return f.read().count(b"\n")
    with open(path, "rb") as f:
        return f.read().count(b"\n")


def check_members(path: Path, report) -> None:
    """Reads a compressed spool file member by member with this script's own reader of
    the layout (docs/spool.md): each a gzip member whose "NI" extra field gives its own
    length and its inflated length, holding whole records (it ends at a newline)."""
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        head = data[offset:offset + 24]
        if len(head) < 24 or head[:4] != b"\x1f\x8b\x08\x04" or head[10:16] != b"\x0c\x00NI\x08\x00":
            report.error(str(path), f"byte {offset}: not the start of a spool member")
            return
        member_bytes, inflated_bytes = struct.unpack_from("<II", head, 16)
        member = data[offset:offset + member_bytes]
        if len(member) != member_bytes:
            report.error(str(path), f"byte {offset}: the member runs past the end of the file")
            return
        inflater = zlib.decompressobj(-15)
        try:
            records = inflater.decompress(member[24:]) + inflater.flush()
        except zlib.error as e:
            report.error(str(path), f"byte {offset}: {e}")
            return
        crc, isize = struct.unpack_from("<II", member, member_bytes - 8)
        if not inflater.eof or inflater.unused_data != member[member_bytes - 8:]:
            report.error(str(path), f"byte {offset}: the deflate data does not end just before the trailer")
        elif len(records) != inflated_bytes or isize != inflated_bytes or zlib.crc32(records) != crc:
            report.error(str(path), f"byte {offset}: the inflated records do not match the header and trailer")
        elif not records.endswith(b"\n"):
            report.error(str(path), f"byte {offset}: the member does not end at a record's end")
        offset += member_bytes


def check_state_file(path: Path, kind: int, report):
    """Reads a snapshot (kind 1) or journal (kind 2) with an independent reader; returns its commit."""
    data = path.read_bytes()
    if len(data) < 40 or data[-4:] != b"DONE":
        report.error(str(path), "no end marker: truncated or not a state file")
        return None
    end = len(data) - 16
    length, crc = struct.unpack_from("<QI", data, end)
    if length != end or crc != zlib.crc32(data[:end]):
        report.error(str(path), "length or CRC-32 in the trailer does not match")
        return None
    magic, version, found_kind, commit = struct.unpack_from("<8sIIQ", data, 0)
    if magic != b"NUDGESTA" or version not in (1, 2) or found_kind != kind:
        report.error(str(path), f"header says {magic!r} version {version} kind {found_kind}, wanted kind {kind}")
        return None
    at = 24
    _first, users = struct.unpack_from("<QQ", data, at)
    at += 16
    lengths = struct.unpack_from(f"<{users}I", data, at)
    at += 4 * users + sum(n & 0x7FFFFFFF for n in lengths)
    for item in (4, 16, 20) + ((8,) if version >= 2 else ()):  # marks, message ids, links, record counts
        (count,) = struct.unpack_from("<Q", data, at)
        at += 8 + count * item
    if version >= 2:  # userId forms: user, records, length, bytes
        (count,) = struct.unpack_from("<Q", data, at)
        at += 8
        for _ in range(count):
            user, records, length = struct.unpack_from("<III", data, at)
            if user >= _first + users and kind == 1:
                report.error(str(path), f"a userId form names user {user}, past the {users} users")
            at += 12 + length
    if at != end:
        report.error(str(path), f"sections end at byte {at}, the trailer starts at {end}")
    return commit


def validate_ledger(spool: Path, report):
    """The ledger and the files it vouches for (see ledger-entry.schema.json)."""
    ledger_path = spool / "state" / "ledger.ndjson"
    if not ledger_path.exists():
        return
    validator = load_validator("ledger-entry.schema.json")
    raw = ledger_path.read_bytes()
    if raw and not raw.endswith(b"\n"):
        report.error(str(ledger_path), "the last line is unfinished")
    entries = []
    for number, line in enumerate(raw.split(b"\n")[:-1] if raw else [], start=1):
        where = f"{ledger_path}:{number}"
        marker = line.rfind(b',"crc32":"')
        if marker < 0 or line[marker + 10:-2].decode() != f"{zlib.crc32(line[:marker]):08x}":
            report.error(where, "CRC-32 does not match the line")
        entry = checked_record(where, line, validator, report)
        if entry is None:
            continue
        if isinstance(entry, dict) and entry.get("commit") != number:
            report.error(where, f"commit {entry.get('commit')} on line {number}")
        entries.append(entry)
    committed = set()
    # A redrive commit moves records out of earlier dropped files: their current size and
    # line count are the last redrive's.
    dropped_now = {}
    for entry in entries:
        try:
            for file in (entry.get("redrive") or {}).get("replaced", []):
                size, lines = dropped_now[file["commit"]]
                dropped_now[file["commit"]] = (file["dropped_bytes"], lines - file["moved"])
            inputs = entry["inputs"]
            moved = sum(f["moved"] for f in (entry.get("redrive") or {}).get("replaced", []))
            dropped_now[entry["commit"]] = (entry["dropped_bytes"],
                                            sum(i["dropped"] + (i["status"] != "ok") for i in inputs))
            entry["_accepted_lines"] = sum(i["accepted"] for i in inputs) + moved
        except (KeyError, TypeError, AttributeError):
            continue  # already reported by the schema
    for entry in entries:
        try:
            name = f"{entry['commit']:08d}"
            want = {
                "accepted": (entry["accepted_bytes"], entry["_accepted_lines"]),
                "dropped": dropped_now[entry["commit"]],
            }
        except (KeyError, TypeError):
            continue  # already reported by the schema
        for folder, (size, lines) in want.items():
            compressed = entry.get("compression") == "gzip"
            path = spool / folder / (f"{name}.ndjson.gz" if compressed else f"{name}.ndjson")
            committed.add(path)
            if size == 0 and lines == 0 and not path.exists():
                continue
            if not path.exists() or path.stat().st_size != size:
                report.error(str(path), f"the ledger says commit {entry['commit']} wrote {size} bytes here")
                continue
            if compressed:
                check_members(path, report)
            if count_lines(path) != lines:
                report.error(str(path), f"{count_lines(path)} lines; the ledger's counts say {lines}")
    for folder in ("accepted", "dropped"):
        for path in sorted((spool / folder).iterdir()) if (spool / folder).exists() else []:
            if path.name.startswith("."):
                report.error(str(path), "a hidden leftover of an unfinished commit")
            elif path not in committed:
                report.error(str(path), "a spool file no ledger entry vouches for")
    state = spool / "state"
    snapshot_commit = 0
    if (state / "snapshot").exists():
        snapshot_commit = check_state_file(state / "snapshot", 1, report) or 0
    for entry in entries:
        commit = entry.get("commit") if isinstance(entry, dict) else None
        if not isinstance(commit, int) or commit <= snapshot_commit:
            continue
        journal = state / f"{commit:08d}.journal"
        if not journal.exists() or journal.stat().st_size != entry.get("journal_bytes"):
            report.error(str(journal), f"missing, or not the {entry.get('journal_bytes')} bytes the ledger says")
        elif check_state_file(journal, 2, report) != commit:
            report.error(str(journal), f"does not hold commit {commit}")
    for path in sorted(state.iterdir()):
        if path.name.startswith("."):
            report.error(str(path), "a hidden leftover of an unfinished commit or snapshot")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spool", required=True, metavar="DIR", help="the spool directory")
    parser.add_argument("--summary", action="append", default=[], metavar="FILE",
                        help="a run summary (`nudge-ingest run --json` output); repeat for every run on the spool")
    parser.add_argument("--no-cross-checks", action="store_true",
                        help="skip the checks that need the whole spool (message_id uniqueness, "
                             "tracks having an identify): for a spool whose old files were removed")
    args = parser.parse_args(argv)

    spool = Path(args.spool)
    if not spool.is_dir():
        print(f"{spool}: not a directory", file=sys.stderr)
        return 1

    accepted_v = load_validator("accepted-record.schema.json")
    dropped_v = load_validator("dropped-record.schema.json")
    summary_v = load_validator("run-summary.schema.json")
    report = Report()

    # What the spool holds, for the cross-record and summary checks.
    by_kind = collections.Counter()
    by_reason = collections.Counter()
    per_file = collections.defaultdict(collections.Counter)  # source.file -> accepted/dropped
    spool_faults = collections.Counter()  # (file, offset, line)
    first_ids = {}  # message_id -> where, for records not dropped as duplicates
    duplicate_ids = []  # (where, message_id)
    identified = set()
    tracks = []  # (where, ext_id)

    def get(obj, *keys):
        """obj[k1][k2]... or None, for tallying records that may be invalid."""
        for k in keys:
            if not isinstance(obj, dict):
                return None
            obj = obj.get(k)
        return obj

    def note_message_id(where, record, duplicate):
        mid = record.get("message_id")
        if not isinstance(mid, str):
            return
        if duplicate:
            duplicate_ids.append((where, mid))
        elif mid in first_ids:
            report.error(where, f"message_id {mid!r} was already carried by {first_ids[mid]}"
                                " (a repeat must be dropped as duplicate_message_id)")
        else:
            first_ids[mid] = where

    def on_accepted(where, record):
        kind = record.get("kind")
        by_kind[kind] += 1
        per_file[get(record, "source", "file")]["accepted"] += 1
        note_message_id(where, record, False)
        if kind == "identify":
            identified.add(get(record, "body", "ext_id"))
        elif kind == "track":
            tracks.append((where, get(record, "body", "ext_id")))

    def on_dropped(where, record):
        reason = record.get("reason")
        by_reason[reason] += 1
        if reason == "corrupt_input":
            spool_faults[(get(record, "source", "file"), get(record, "source", "offset"),
                          get(record, "source", "line"))] += 1
        else:
            per_file[get(record, "source", "file")]["dropped"] += 1
        note_message_id(where, record, reason == "duplicate_message_id")
        raw = record.get("raw")
        if record.get("raw_truncated") is True and isinstance(raw, str):
            size = len(raw.encode("utf-8", "surrogatepass"))
            if size > RAW_TRUNCATED_MAX_BYTES:
                report.error(where, f"raw_truncated is true but raw holds {size} bytes"
                                    f" (more than {RAW_TRUNCATED_MAX_BYTES})")

    accepted_lines = validate_spool_kind(spool / "accepted", accepted_v, report, on_accepted)
    dropped_lines = validate_spool_kind(spool / "dropped", dropped_v, report, on_dropped)
    if not (spool / "accepted").exists() and not (spool / "dropped").exists():
        print(f"note: {spool} has neither accepted/ nor dropped/", file=sys.stderr)

    if not args.no_cross_checks:
        for where, mid in duplicate_ids:
            if mid not in first_ids:
                report.error(where, f"dropped as duplicate_message_id, but no other record in the spool"
                                    f" carries message_id {mid!r}")
        for where, ext_id in tracks:
            if isinstance(ext_id, str) and ext_id not in identified:
                report.error(where, f"accepted track for ext_id {ext_id!r}, which no accepted identify"
                                    " in the spool has")

    summaries = []
    for name in args.summary:
        try:
            with open(name, "rb") as f:
                summary = strict_loads(f.read())
        except OSError as e:
            report.error(name, f"cannot read: {e}")
            continue
        except StrictJSONError as e:
            report.error(name, str(e))
            continue
        errors = schema_errors(summary_v, summary)
        for message in errors:
            report.error(name, message)
        if errors:
            continue
        check_summary_invariants(name, summary, report)
        summaries.append(summary)

    if summaries and len(summaries) == len(args.summary):
        label = "the summary" if len(summaries) == 1 else f"the {len(summaries)} summaries"
        where = f"{spool} vs {label}"
        says = "summary says" if len(summaries) == 1 else "summaries say (summed)"
        says_inputs = "summary inputs say" if len(summaries) == 1 else "summaries' inputs say (summed)"
        want_accepted = sum(s["accepted"] for s in summaries)
        want_dropped = sum(s["dropped"] + s["reasons"]["corrupt_input"] for s in summaries)
        if accepted_lines != want_accepted:
            report.error(where, f"accepted spool has {accepted_lines} lines, {says} accepted = {want_accepted}")
        if dropped_lines != want_dropped:
            report.error(where, f"dropped spool has {dropped_lines} lines, {says}"
                                f" dropped + corrupt_input = {want_dropped}")
        for kind in ("identify", "track"):
            want = sum(s["accepted_by_kind"][kind] for s in summaries)
            if by_kind[kind] != want:
                report.error(where, f"accepted spool has {by_kind[kind]} {kind} records,"
                                    f" {says} accepted_by_kind.{kind} = {want}")
        for reason in REASONS:
            want = sum(s["reasons"][reason] for s in summaries)
            if by_reason[reason] != want:
                report.error(where, f"dropped spool has {by_reason[reason]} {reason} records,"
                                    f" {says} reasons.{reason} = {want}")
        want_files = collections.defaultdict(collections.Counter)
        want_faults = collections.Counter()
        for s in summaries:
            for inp in s["inputs"]:
                want_files[inp["path"]]["accepted"] += inp["accepted"]
                want_files[inp["path"]]["dropped"] += inp["dropped"]
                if inp["fault"] is not None:
                    f = inp["fault"]
                    want_faults[(inp["path"], f["offset"], f["line"])] += 1
        for path in sorted(set(want_files) | set(per_file), key=repr):
            for k in ("accepted", "dropped"):
                have, want = per_file[path][k], want_files[path][k]
                if have != want:
                    report.error(where, f"{k} spool has {have} records from {path!r},"
                                        f" {says_inputs} {k} = {want}")
        for key in sorted(set(want_faults) | set(spool_faults), key=repr):
            have, want = spool_faults[key], want_faults[key]
            if have != want:
                file, offset, line = key
                report.error(where, f"dropped spool has {have} corrupt_input record(s) for {file!r}"
                                    f" at offset {offset}, line {line}; {says_inputs} {want} such fault(s)")

    validate_ledger(spool, report)

    if report.count:
        print(f"invalid: {report.count} error(s) in {spool}"
              + (f" and {len(args.summary)} summary file(s)" if args.summary else ""), file=sys.stderr)
        return 1
    corrupt = by_reason["corrupt_input"]
    extra = f" ({corrupt} of them corrupt_input)" if corrupt else ""
    runs = f", {len(summaries)} run summar{'y' if len(summaries) == 1 else 'ies'}" if summaries else ""
    print(f"validated {accepted_lines} accepted, {dropped_lines} dropped records{extra}{runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
