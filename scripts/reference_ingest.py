#!/usr/bin/env python3
"""Reference implementation of the nudge-ingest contract, for differential tests.

    python3 scripts/reference_ingest.py --out DIR [--max-line-bytes N] INPUT...

Reads INPUTs (files, directories walked recursively, or `-` for standard input)
exactly as `nudge-ingest run` must, decides every record by the ingestion
contract (contract.md, rules 1-13), and writes

    DIR/accepted.ndjson   accepted records, one a line, in input order
    DIR/dropped.ndjson    dropped records and corrupt_input faults, in input order

in the shapes of docs/formats.md, then prints a run summary as JSON on standard
output. Exit status: 0 when every input was read whole, 2 when some input was
unreadable or corrupt (as the contract's exit status), 1 for usage errors.

This is an oracle, not a product: it is written to be obviously correct, uses
only the standard library, holds whole inputs in memory and is slow on purpose.
It models a single run on a fresh spool (no state carried over from earlier
runs); to model two runs on one spool, give it the inputs of both runs at once.

`python3 scripts/reference_ingest.py --self-test` checks the date arithmetic and
the small helpers against the standard library and known examples.
"""

import argparse
import hashlib
import json
import os
import re
import stat
import sys
import time
import zlib

# The JSON decoder and the recursive helpers below go as deep as the nesting of a
# record, which is at most 1,000 (deeper records are rejected before parsing).
sys.setrecursionlimit(20000)

DEFAULT_MAX_LINE_BYTES = 1024 * 1024
RAW_LIMIT_BYTES = 4096
MAX_NESTING_DEPTH = 1000
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"

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

# Unicode White_Space (PropList.txt). Deliberately not str.isspace(), which also
# accepts U+001C..U+001F (the information separators), which are not White_Space.
WHITE_SPACE = frozenset(
    [chr(c) for c in range(0x09, 0x0D + 1)]
    + ["\u0020", "\u0085", "\u00a0", "\u1680"]
    + [chr(c) for c in range(0x2000, 0x200A + 1)]
    + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
)

ABSENT = object()  # a key missing from an object (as opposed to JSON null)


# ---------------------------------------------------------------------------
# Strict JSON
# ---------------------------------------------------------------------------


class JsonNumber:
    """A JSON number kept as the exact text it was written with.

    The decoder hands every number to this class (parse_int / parse_float), so
    no number is ever converted: big integers keep all their digits, `-0` stays
    `-0`, `1.10` stays `1.10`, and the writer puts the text back verbatim.
    """

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    @property
    def is_integer(self):
        """Written without `.`, `e` or `E` (the contract's integer user id)."""
        return not any(c in self.text for c in ".eE")

    def __repr__(self):
        return "JsonNumber(%s)" % self.text


class NotStrictJson(ValueError):
    pass


def _reject_constant(name):
    # Python's decoder accepts NaN, Infinity and -Infinity; RFC 8259 does not.
    raise NotStrictJson("%s is not JSON" % name)


def max_nesting_depth(text):
    """Deepest array/object nesting in `text`, counting brackets outside strings.

    Only trusted for text that turns out to be valid JSON; for anything else the
    decoder rejects the text anyway.
    """
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "[" or ch == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == "]" or ch == "}":
            depth -= 1
    return deepest


def has_lone_surrogate(s):
    # Python's decoder turns a valid escaped pair (\ud83d\ude00) into one code
    # point; whatever surrogate is left in a decoded string was a lone escape.
    return any("\ud800" <= c <= "\udfff" for c in s)


def find_lone_surrogate(value):
    """True when some string (object key or value) at any depth holds one."""
    if isinstance(value, str):
        return has_lone_surrogate(value)
    if isinstance(value, list):
        return any(find_lone_surrogate(v) for v in value)
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or find_lone_surrogate(v) for k, v in value.items())
    return False


def parse_strict_json(line):
    """Parse one record. Returns (value, None) or (None, why-it-is-malformed).

    Objects become dicts: a repeated key keeps its first position and its last
    value (dict(pairs) does exactly that, as JavaScript's JSON.parse). Numbers
    become JsonNumber, strings str, true/false bool, null None.
    """
    try:
        text = line.decode("utf-8")  # strict: rejects overlongs, encoded surrogates, ...
    except UnicodeDecodeError as e:
        return None, "not valid UTF-8 at byte %d" % e.start
    if max_nesting_depth(text) > MAX_NESTING_DEPTH:
        return None, "nesting deeper than %d" % MAX_NESTING_DEPTH
    try:
        value = json.loads(
            text,
            parse_int=JsonNumber,
            parse_float=JsonNumber,
            parse_constant=_reject_constant,
            object_pairs_hook=dict,
        )
    except NotStrictJson as e:
        return None, str(e)
    except ValueError as e:  # json.JSONDecodeError is a ValueError
        return None, "invalid JSON: %s" % e
    except RecursionError:  # cannot happen below the depth limit; belt and braces
        return None, "nesting too deep"
    if find_lone_surrogate(value):
        return None, "lone surrogate escape in a string"
    return value, None


def dump_json(value):
    """Compact JSON text; JsonNumber written verbatim, other strings UTF-8."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, int):  # our own integers (line numbers, offsets)
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(dump_json(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + dump_json(v) for k, v in value.items()) + "}"
    raise TypeError("cannot write %r as JSON" % (value,))


# ---------------------------------------------------------------------------
# Strings: blank, ext_id
# ---------------------------------------------------------------------------


def is_blank(s):
    """Empty, or only Unicode White_Space characters."""
    return all(c in WHITE_SPACE for c in s)


def js_lower(s):
    """JavaScript's String.prototype.toLowerCase().

    Python's str.lower() applies the same Unicode full lowercase mapping
    (SpecialCasing.txt unconditional mappings, e.g. U+0130 -> "i\u0307") and
    the same Final_Sigma context rule ("ΟΔΟΣ" -> "οδος"). Known differences:
    only the Unicode version of the tables (Python 3.11: Unicode 14.0; current
    JS engines: 15.1/16.0), i.e. characters assigned after Unicode 14. Neither
    applies language-sensitive (Turkish, Lithuanian) mappings.
    """
    return s.lower()


def normalize_name(s):
    """ext_id and event name: every U+0020 becomes '_', then lowercase; no trimming."""
    return js_lower(s.replace(" ", "_"))


# ---------------------------------------------------------------------------
# RFC 3339 date-times and JavaScript's Date.prototype.toISOString()
# ---------------------------------------------------------------------------

# [0-9], not \d (which matches any Unicode digit), and fullmatch: nothing before
# or after. Offset: Z, z, +HH:MM, -HH:MM, +HHMM or -HHMM.
RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]"
    r"([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):?([0-9]{2}))"
)

MS_PER_DAY = 86400000


def is_leap_year(y):
    # Proleptic Gregorian, as JavaScript's Date: year 0 is a leap year.
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def days_in_month(y, m):
    if m == 2:
        return 29 if is_leap_year(y) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= 1 if m <= 2 else 0
    era = y // 400  # Python's // floors, so negative years work
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    """Inverse of days_from_civil: (year, month, day)."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    return y, m, d


def parse_rfc3339(s):
    """(epoch milliseconds, has_numeric_offset) for a contract date-time, else None.

    The fraction is truncated to milliseconds (offsets are whole minutes, so
    truncating before or after applying the offset gives the same instant).
    """
    m = RFC3339.fullmatch(s)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    fraction, zulu, sign, off_h, off_m = m.group(7, 8, 9, 10, 11)
    if not (1 <= month <= 12 and 1 <= day <= days_in_month(year, month)):
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    millis = int((fraction or "").ljust(3, "0")[:3])
    offset_minutes = 0
    if zulu is None:
        off_h, off_m = int(off_h), int(off_m)
        if off_h > 23 or off_m > 59:
            return None
        offset_minutes = (off_h * 60 + off_m) * (1 if sign == "+" else -1)
    local_ms = (
        days_from_civil(year, month, day) * MS_PER_DAY
        + ((hour * 60 + minute) * 60 + second) * 1000
        + millis
    )
    return local_ms - offset_minutes * 60000, zulu is None


def to_iso_string(epoch_ms):
    """JavaScript's Date.prototype.toISOString() for an epoch-milliseconds value."""
    days, ms_of_day = divmod(epoch_ms, MS_PER_DAY)
    y, mo, d = civil_from_days(days)
    hh, rest = divmod(ms_of_day, 3600000)
    mi, rest = divmod(rest, 60000)
    ss, ms = divmod(rest, 1000)
    if 0 <= y <= 9999:
        year = "%04d" % y
    else:  # expanded years: sign and six digits, e.g. -000001, +010000
        year = ("+" if y > 0 else "-") + "%06d" % abs(y)
    return "%s-%02d-%02dT%02d:%02d:%02d.%03dZ" % (year, mo, d, hh, mi, ss, ms)


def rewrite_dates(value):
    """Props at any depth: strings that are date-times with a numeric offset go to UTC.

    Strings ending in Z/z and every key are left alone; arrays are walked too.
    """
    if isinstance(value, str):
        parsed = parse_rfc3339(value)
        if parsed is not None and parsed[1]:
            return to_iso_string(parsed[0])
        return value
    if isinstance(value, list):
        return [rewrite_dates(v) for v in value]
    if isinstance(value, dict):
        return {k: rewrite_dates(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------
# Deciding records (contract rules 1-13)
# ---------------------------------------------------------------------------


class IdentityState:
    """Everything a decision depends on besides the record itself."""

    def __init__(self):
        self.seen_message_ids = set()  # every string messageId from rule 4 on
        self.identified = set()  # ext_ids of accepted identifies
        self.links = {}  # key -> (ext_id, origin); origin: anonymous_id | email | alias


def classify_user_id(event):
    """The contract's "User id" section: (status, value).

    ("ok", ext_id)               userId is a non-blank string or an integer
    ("anonymous", anonymousId)   userId absent/null/blank, anonymousId a non-blank string
    ("missing", None)            userId absent/null/blank, no usable anonymousId
    ("invalid", None)            any other userId (float, boolean, object, array)
    """
    user_id = event.get("userId", ABSENT)
    if user_id is ABSENT or user_id is None or (isinstance(user_id, str) and is_blank(user_id)):
        anonymous_id = event.get("anonymousId", ABSENT)
        if isinstance(anonymous_id, str) and not is_blank(anonymous_id):
            return "anonymous", anonymous_id
        return "missing", None
    if isinstance(user_id, str):
        return "ok", normalize_name(user_id)
    if isinstance(user_id, JsonNumber) and user_id.is_integer:
        return "ok", normalize_name(user_id.text)
    return "invalid", None  # float, boolean, object, array


USER_ID_REASONS = {
    "missing": ("missing_user_id", "no usable userId and no anonymousId"),
    "anonymous": ("anonymous_only", "no usable userId, only an anonymousId"),
    "invalid": ("invalid_user_id", "userId is neither a non-blank string nor an integer"),
}


def string_or_none(value):
    return value if isinstance(value, str) else None


def get_object(event, key):
    value = event.get(key, ABSENT)
    return value if isinstance(value, dict) else None


class Accepted:
    def __init__(self, kind, body, message_id, resolved_via):
        self.kind, self.body, self.message_id, self.resolved_via = kind, body, message_id, resolved_via


class Dropped:
    def __init__(self, reason, detail, event=None):
        self.reason, self.detail = reason, detail
        # type / event / message_id "when they could be read" (only from an object)
        self.type = self.event = self.message_id = None
        if isinstance(event, dict):
            self.type = string_or_none(event.get("type"))
            self.event = string_or_none(event.get("event"))
            self.message_id = string_or_none(event.get("messageId"))


def identify_body(event, ext_id):
    body = {"ext_id": ext_id}
    traits = get_object(event, "traits")
    for field in ("name", "email", "phone"):
        value = traits.get(field, ABSENT) if traits is not None else ABSENT
        if isinstance(value, str):
            body[field] = value
        elif isinstance(value, JsonNumber):
            body[field] = value.text  # its JSON text, as written
    context = get_object(event, "context")
    if context is not None and isinstance(context.get("timezone"), str):
        body["tz"] = context["timezone"]
    props = {}
    if traits is not None:
        props = {k: v for k, v in traits.items() if k not in ("name", "email", "phone")}
    body["props"] = rewrite_dates(props)
    return body


def decide(line, state, max_line_bytes):
    """Decide one record (a line, `\\r` already removed). Updates `state`."""
    # Rule 1
    if len(line) > max_line_bytes:
        return Dropped("line_too_long", "line is %d bytes, more than --max-line-bytes %d" % (len(line), max_line_bytes))
    # Rule 2
    event, why = parse_strict_json(line)
    if why is not None:
        return Dropped("malformed_json", why)
    # Rule 3
    if not isinstance(event, dict):
        return Dropped("not_an_object", "the JSON value is not an object", event)
    # Rule 4
    message_id = event.get("messageId", ABSENT)
    if isinstance(message_id, str):
        if message_id in state.seen_message_ids:
            return Dropped("duplicate_message_id", "messageId %s was already seen" % json.dumps(message_id), event)
        state.seen_message_ids.add(message_id)
    else:
        message_id = None
    # Rule 5
    type_ = event.get("type", ABSENT)
    if not isinstance(type_, str):
        return Dropped("missing_type", "type is absent or not a string", event)
    # Rule 6
    if type_ not in ("identify", "track"):
        if type_ == "alias":
            status, value = classify_user_id(event)
            previous_id = event.get("previousId", ABSENT)
            if status == "ok" and isinstance(previous_id, str) and not is_blank(previous_id):
                state.links[previous_id] = (value, "alias")
        return Dropped("unsupported_type", "type %s is not identify or track" % json.dumps(type_), event)
    status, value = classify_user_id(event)
    if type_ == "identify":
        # Rule 7
        if status != "ok":
            reason, detail = USER_ID_REASONS[status]
            return Dropped(reason, detail, event)
        # Rule 8
        ext_id = value
        state.identified.add(ext_id)
        anonymous_id = event.get("anonymousId", ABSENT)
        if isinstance(anonymous_id, str) and not is_blank(anonymous_id):
            state.links[anonymous_id] = (ext_id, "anonymous_id")
        traits = get_object(event, "traits")
        email = traits.get("email", ABSENT) if traits is not None else ABSENT
        if isinstance(email, str) and not is_blank(email):
            state.links[js_lower(email)] = (ext_id, "email")
        return Accepted("identify", identify_body(event, ext_id), message_id, None)
    # track. Rule 9
    name = event.get("event", ABSENT)
    if not isinstance(name, str) or is_blank(name):
        return Dropped("missing_event", "event is absent, not a string, or blank", event)
    # Rule 10
    if status == "ok":
        ext_id, resolved_via = value, None
    elif status == "anonymous":
        anonymous_id = value
        link = state.links.get(anonymous_id)
        if link is None:
            link = state.links.get(js_lower(anonymous_id))  # Nudgespot passes emails
        if link is None:
            reason, detail = USER_ID_REASONS["anonymous"]
            return Dropped(reason, detail + " that no identify, email or alias links to a user", event)
        ext_id, resolved_via = link
    else:  # "missing" or "invalid"
        reason, detail = USER_ID_REASONS[status]
        return Dropped(reason, detail, event)
    # Rule 11
    timestamp = event.get("timestamp", ABSENT)
    parsed = parse_rfc3339(timestamp) if isinstance(timestamp, str) else None
    if parsed is None:
        return Dropped("invalid_timestamp", "timestamp is absent or not an RFC 3339 date-time", event)
    # Rule 12
    if ext_id not in state.identified:
        return Dropped("not_identified", "user %s was not identified earlier" % json.dumps(ext_id, ensure_ascii=False), event)
    # Rule 13
    properties = get_object(event, "properties")
    body = {
        "name": normalize_name(name),
        "ext_id": ext_id,
        "occurred_at": to_iso_string(parsed[0]),
        "props": rewrite_dates(properties if properties is not None else {}),
    }
    return Accepted("track", body, message_id, resolved_via)


# ---------------------------------------------------------------------------
# Reading inputs: gzip, BOM, lines
# ---------------------------------------------------------------------------


class Fault:
    def __init__(self, offset, message):
        self.offset, self.message = offset, message


def inflate_gzip(data):
    """Decompress every member of a gzip file as one stream.

    Returns (decompressed bytes, Fault or None). On a fault, the bytes are all
    the output zlib produced before it; the offset is in the compressed file:
    where the bad byte is (corrupt data), where the file ends (truncated), or
    where the bytes that are not another member start (trailing garbage).
    """
    out = bytearray()
    pos = 0
    chunk_size = 65536
    while True:  # one member per iteration; data[pos:] starts with the magic
        member_start = pos
        d = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer, one member
        while not d.eof:
            if pos >= len(data):
                return bytes(out), Fault(len(data), "gzip stream truncated (member at offset %d never ends)" % member_start)
            chunk = data[pos : pos + chunk_size]
            before = d.copy()
            try:
                out += d.decompress(chunk)
            except zlib.error:
                # Replay the chunk a byte at a time: keeps every byte of output
                # zlib makes before the error and pins the offset of the bad byte.
                d = before
                for i in range(len(chunk)):
                    try:
                        out += d.decompress(chunk[i : i + 1])
                    except zlib.error as e:
                        return bytes(out), Fault(pos + i, "corrupt gzip data: %s" % e)
                raise AssertionError("zlib error did not reproduce")
            pos += len(chunk) - len(d.unused_data)
        if pos == len(data):
            return bytes(out), None
        if data[pos : pos + 2] != GZIP_MAGIC:
            return bytes(out), Fault(pos, "%d bytes after the gzip stream are not another gzip member" % (len(data) - pos))


def split_lines(stream):
    """(complete lines, unterminated tail). Lines are split on b'\\n', newline not kept."""
    parts = stream.split(b"\n")
    return parts[:-1], parts[-1]


def strip_one_cr(line):
    return line[:-1] if line.endswith(b"\r") else line


def is_blank_line(line):
    return all(b in b" \t" for b in line)


def raw_text(line, cut):
    """(raw, raw_truncated) for a dropped record.

    raw is the line decoded as UTF-8 with every invalid sequence replaced by
    U+FFFD. With `cut` (line_too_long, and the fragment of a fault), a raw
    longer than 4096 UTF-8 bytes keeps only the longest run of whole code
    points from its start that fits in 4096 bytes. The bound is on raw as
    written (so a U+FFFD counts 3 bytes), as scripts/validate_spool.py checks.
    """
    text = line.decode("utf-8", "replace")
    encoded = text.encode("utf-8")
    if not cut or len(encoded) <= RAW_LIMIT_BYTES:
        return text, False
    end = RAW_LIMIT_BYTES
    while (encoded[end] & 0xC0) == 0x80:  # a continuation byte: back up to its lead byte
        end -= 1
    return encoded[:end].decode("utf-8"), True


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


def list_inputs(arguments):
    """[(source path, kind)] in reading order; kind: "stdin", "file", "unreadable"."""
    result = []
    for arg in arguments:
        if arg == "-":
            result.append(("-", "stdin"))
        elif os.path.isdir(arg):
            found = []

            def walk_error(err, found=found):
                found.append((err.filename or arg, "unreadable"))

            for dirpath, dirnames, filenames in os.walk(arg, onerror=walk_error):
                # Hidden folders and files (.git, .DS_Store) are not part of an export.
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                for name in filenames:
                    if name.startswith("."):
                        continue
                    path = os.path.join(dirpath, name)
                    try:
                        mode = os.lstat(path).st_mode
                    except OSError:
                        found.append((path, "unreadable"))
                        continue
                    if stat.S_ISREG(mode):  # regular files only: no symlinks, FIFOs, ...
                        found.append((path, "file"))
            found.sort(key=lambda item: os.fsencode(item[0]))  # bytewise by path
            result.extend(found)
        else:
            result.append((arg, "file"))  # opened below; a failure is a fault
    # Empty files (a download under way) are skipped, and so is a file with the same
    # bytes as an earlier input (a copy): its records would count twice.
    kept, contents = [], set()
    for path, kind in result:
        if kind == "file":
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                data = None
            if data is not None:
                if not data:
                    continue
                digest = hashlib.sha256(data).digest()
                if digest in contents:
                    continue
                contents.add(digest)
        kept.append((path, kind))
    return kept


def one_line(text):
    # A detail is one line (the schema forbids \r and \n); a file name may hold them.
    return text.replace("\r", " ").replace("\n", " ")


def display_path(path):
    # Non-UTF-8 file names: their undecodable bytes shown as U+FFFD.
    return os.fsencode(path).decode("utf-8", "replace")


def run(arguments, out_dir, max_line_bytes):
    started = time.monotonic()
    state = IdentityState()
    accepted_lines, dropped_lines = [], []
    reasons = {r: 0 for r in REASONS}
    totals = {"records": 0, "accepted": 0, "dropped": 0, "uncompressed_bytes": 0}
    by_kind = {"identify": 0, "track": 0}
    input_reports = []

    for path, kind in list_inputs(arguments):
        source_file = display_path(path)
        report = {"path": source_file, "format": "plain", "bytes": 0, "uncompressed_bytes": 0,
                  "records": 0, "accepted": 0, "dropped": 0, "status": "ok", "fault": None}
        input_reports.append(report)

        # Read the whole input.
        fault = None
        data = b""
        try:
            if kind == "stdin":
                data = sys.stdin.buffer.read()
            elif kind == "unreadable":
                raise OSError("cannot list directory")
            else:
                with open(path, "rb") as f:
                    data = f.read()
        except OSError as e:
            fault = Fault(0, "cannot read: %s" % (e.strerror or e))
            report["status"] = "unreadable"
        report["bytes"] = len(data)

        # Decompress.
        if fault is None and data.startswith(GZIP_MAGIC):
            report["format"] = "gzip"
            stream, fault = inflate_gzip(data)
            if fault is not None:
                report["status"] = "corrupt"
        else:
            stream = data
        report["uncompressed_bytes"] = len(stream)
        totals["uncompressed_bytes"] += len(stream)
        if stream.startswith(UTF8_BOM):
            stream = stream[len(UTF8_BOM):]

        # Frame and decide. With a fault, the unterminated tail is not a record.
        lines, tail = split_lines(stream)
        if fault is None and tail != b"":
            lines.append(tail)
        for index, physical in enumerate(lines):
            line_number = index + 1
            line = strip_one_cr(physical)
            if is_blank_line(line):
                continue
            outcome = decide(line, state, max_line_bytes)
            source = {"file": source_file, "line": line_number}
            report["records"] += 1
            totals["records"] += 1
            if isinstance(outcome, Accepted):
                report["accepted"] += 1
                totals["accepted"] += 1
                by_kind[outcome.kind] += 1
                accepted_lines.append({"kind": outcome.kind, "body": outcome.body,
                                       "message_id": outcome.message_id, "source": source,
                                       "resolved_via": outcome.resolved_via})
            else:
                report["dropped"] += 1
                totals["dropped"] += 1
                reasons[outcome.reason] += 1
                raw, truncated = raw_text(line, cut=outcome.reason == "line_too_long")
                dropped_lines.append({"reason": outcome.reason,
                                      "detail": one_line("%s line %d: %s" % (source_file, line_number, outcome.detail)),
                                      "source": source, "type": outcome.type, "event": outcome.event,
                                      "message_id": outcome.message_id, "raw": raw, "raw_truncated": truncated})

        if fault is not None:
            fault_line = len(lines) + 1 if report["status"] == "corrupt" else 1
            reasons["corrupt_input"] += 1
            raw, truncated = raw_text(tail if report["status"] == "corrupt" else b"", cut=True)
            report["fault"] = {"offset": fault.offset, "line": fault_line, "message": fault.message}
            dropped_lines.append({"reason": "corrupt_input",
                                  "detail": one_line("%s at byte %d: %s" % (source_file, fault.offset, fault.message)),
                                  "source": {"file": source_file, "line": fault_line, "offset": fault.offset},
                                  "type": None, "event": None, "message_id": None,
                                  "raw": raw, "raw_truncated": truncated})

    os.makedirs(out_dir, exist_ok=True)
    for name, records in (("accepted.ndjson", accepted_lines), ("dropped.ndjson", dropped_lines)):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8", newline="\n") as f:
            for record in records:
                f.write(dump_json(record) + "\n")

    corrupt = reasons["corrupt_input"]
    summary = {
        "spool": out_dir,
        "records": totals["records"], "accepted": totals["accepted"], "dropped": totals["dropped"],
        "accepted_by_kind": by_kind,
        "reasons": reasons,
        "corrupt_inputs": corrupt,
        "inputs": input_reports,
        "uncompressed_bytes": totals["uncompressed_bytes"],
        "elapsed_seconds": round(time.monotonic() - started, 3),
        "exit_status": 2 if corrupt else 0,
    }
    assert summary["records"] == summary["accepted"] + summary["dropped"]
    return summary


# ---------------------------------------------------------------------------
# Self-test of the helpers
# ---------------------------------------------------------------------------


def self_test():
    import datetime

    epoch = datetime.date(1970, 1, 1)
    for ordinal in range(datetime.date(1, 1, 1).toordinal(), datetime.date(9999, 12, 31).toordinal() + 1, 7):
        date = datetime.date.fromordinal(ordinal)
        days = (date - epoch).days
        assert days_from_civil(date.year, date.month, date.day) == days, date
        assert civil_from_days(days) == (date.year, date.month, date.day), date
    for days in range(days_from_civil(-2, 1, 1), days_from_civil(2, 1, 1)):
        y, m, d = civil_from_days(days)
        assert days_from_civil(y, m, d) == days and 1 <= d <= days_in_month(y, m)
    examples = {
        "2025-05-14T07:30:00Z": "2025-05-14T07:30:00.000Z",
        "2025-05-14t09:30:00.123999+02:00": "2025-05-14T07:30:00.123Z",
        "2025-05-14T02:30:00.5-0500": "2025-05-14T07:30:00.500Z",
        "0000-01-01T00:30:00+01:00": "-000001-12-31T23:30:00.000Z",
        "9999-12-31T23:59:59.999-23:59": "+010000-01-01T23:58:59.999Z",
        "0000-02-29T00:00:00Z": "0000-02-29T00:00:00.000Z",
        "1969-12-31T23:59:59.9999z": "1969-12-31T23:59:59.999Z",
        "1970-01-01T00:00:00-00:00": "1970-01-01T00:00:00.000Z",
    }
    for text, expected in examples.items():
        parsed = parse_rfc3339(text)
        assert parsed is not None and to_iso_string(parsed[0]) == expected, (text, parsed)
    for bad in ["2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2025-05-14T24:00:00Z", "2025-05-14T23:60:00Z",
                "2025-05-14T23:59:60Z", "2025-05-14T07:30:00+24:00", "2025-05-14T07:30:00+02:60",
                "2025-05-14T07:30:00", "2025-05-14 07:30:00Z", "2025-05-14T07:30:00.Z", "2025-05-14T07:30Z",
                " 2025-05-14T07:30:00Z", "2025-05-14T07:30:00Z\n", "2025-05-14T07:30:00+02", "+02025-05-14T07:30:00Z",
                "2025-5-14T07:30:00Z", "２０２５-05-14T07:30:00Z", "2025-05-14T07:30:00+02:0"]:
        assert parse_rfc3339(bad) is None, bad
    assert normalize_name("ΟΔΟΣ ΟΔΟΣ") == "οδος_οδος" and normalize_name(" A B ") == "_a_b_"
    assert normalize_name("İ") == "i\u0307"
    assert is_blank("") and is_blank("\u3000\u00a0\t") and not is_blank("\u001c") and not is_blank("\u200b")
    assert raw_text(b"a" * 4095 + "€".encode() + b"b", cut=True) == ("a" * 4095, True)
    assert raw_text(b"a" * 4095 + "€".encode() + b"b", cut=False) == ("a" * 4095 + "€b", False)
    assert raw_text(b"a" * 4096, cut=True) == ("a" * 4096, False)
    assert raw_text(b"\xff" * 1366, cut=True) == ("\ufffd" * 1365, True)
    assert max_nesting_depth('[{"a":"[[[\\"]"}]') == 2
    print("self-test passed")


class UsageErrorParser(argparse.ArgumentParser):
    def error(self, message):
        # argparse exits 2 on a usage error; the contract says 1 (2 means a corrupt input).
        self.print_usage(sys.stderr)
        self.exit(1, "%s: error: %s\n" % (self.prog, message))


def main(argv=None):
    parser = UsageErrorParser(description="Reference implementation of the nudge-ingest contract.")
    parser.add_argument("--out", help="directory for accepted.ndjson and dropped.ndjson")
    parser.add_argument("--max-line-bytes", type=int, default=DEFAULT_MAX_LINE_BYTES)
    parser.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("inputs", nargs="*", metavar="INPUT")
    args = parser.parse_args(argv)
    if args.self_test:
        self_test()
        return 0
    if not args.out or not args.inputs:
        parser.error("--out DIR and at least one INPUT are required")
    if args.max_line_bytes < 1:
        parser.error("--max-line-bytes must be a positive integer")
    summary = run(args.inputs, args.out, args.max_line_bytes)
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return summary["exit_status"]


if __name__ == "__main__":
    sys.exit(main())
