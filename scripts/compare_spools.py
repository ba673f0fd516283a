#!/usr/bin/env python3
"""Compare a nudge-ingest spool with the output of scripts/reference_ingest.py.

    python3 scripts/compare_spools.py --reference DIR --spool SPOOLDIR

DIR holds the reference's accepted.ndjson and dropped.ndjson; SPOOLDIR is the
spool of one `nudge-ingest run` on a fresh spool over the same inputs (its
accepted/*.ndjson and dropped/*.ndjson, `.ndjson.gz` too, each kind's files read
in name order and concatenated).

Records are compared one by one, in order, as JSON values: numbers as
decimal.Decimal (so 1.10 equals 1.1, but 1 never equals true), object keys
unordered except inside a body's `props`, whose key order the contract fixes
(a repeated key keeps its first position). Ignored: `detail` (it must still be
a string), and for `corrupt_input` records `source.offset` and `source.line`
(they must still be integers). A key written twice in one spool object is a
difference.

Prints the first 10 differences with both records and exits 1, or prints
`spools match: N accepted, M dropped` and exits 0. Exit 2 when a file cannot be
read or a line is not JSON.
"""

import argparse
import decimal
import glob
import gzip
import json
import os
import sys

sys.setrecursionlimit(20000)  # props may nest up to 1,000 deep

MAX_SHOWN = 10


class Obj:
    """A JSON object as its (key, value) pairs, in the order written."""

    __slots__ = ("pairs",)

    def __init__(self, pairs):
        self.pairs = pairs

    def keys(self):
        return [k for k, _ in self.pairs]

    def get(self, key, default=None):
        for k, v in self.pairs:
            if k == key:
                return v
        return default


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)


def parse(text):
    return json.loads(text, parse_int=decimal.Decimal, parse_float=decimal.Decimal,
                      parse_constant=_no_constant, object_pairs_hook=Obj)


def show(v):
    """Compact JSON text; numbers as written (Decimal keeps their digits)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(show(x) for x in v) + "]"
    return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + show(x) for k, x in v.pairs) + "}"


def kind_of(v):
    if v is None:
        return "null"
    if isinstance(v, bool):  # before Decimal: True == Decimal(1) in Python
        return "boolean"
    if isinstance(v, decimal.Decimal):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, Obj):
        return "object"
    raise TypeError(type(v))


def first_difference(ref, got, path, ordered, ignore):
    """A description of the first place ref and got differ, or None.

    `ordered`: object key order matters (inside props). `ignore(path)`: true for
    paths whose value is not compared (its type is checked by the caller).
    """
    if kind_of(ref) != kind_of(got):
        return "%s: %s in the reference, %s in the spool" % (path or "record", kind_of(ref), kind_of(got))
    if isinstance(ref, Obj):
        for label, obj in (("reference", ref), ("spool", got)):
            keys = obj.keys()
            if len(set(keys)) != len(keys):
                dup = next(k for k in keys if keys.count(k) > 1)
                return "%s: key %s written twice in the %s" % (path or "record", json.dumps(dup), label)
        ref_keys = [k for k in ref.keys() if not ignore(path + "." + k)]
        got_keys = [k for k in got.keys() if not ignore(path + "." + k)]
        if set(ref_keys) != set(got_keys):
            missing = [k for k in ref_keys if k not in got_keys]
            extra = [k for k in got_keys if k not in ref_keys]
            return "%s: keys missing in the spool %s, extra in the spool %s" % (path or "record", missing, extra)
        if ordered and ref_keys != got_keys:
            return "%s: key order %s in the reference, %s in the spool" % (path, ref_keys, got_keys)
        for k in ref_keys:
            child = path + "." + k
            d = first_difference(ref.get(k), got.get(k), child, ordered or child == ".body.props", ignore)
            if d:
                return d
        return None
    if isinstance(ref, list):
        if len(ref) != len(got):
            return "%s: %d elements in the reference, %d in the spool" % (path, len(ref), len(got))
        for i, (a, b) in enumerate(zip(ref, got)):
            d = first_difference(a, b, "%s[%d]" % (path, i), ordered, ignore)
            if d:
                return d
        return None
    if ref != got:
        return "%s: %s in the reference, %s in the spool" % (path or "record", show(ref), show(got))
    return None


def is_integer(v):
    return isinstance(v, decimal.Decimal) and v == v.to_integral_value()


def compare_records(kind, ref, got):
    """None when the records match, else what differs."""
    corrupt = isinstance(ref, Obj) and ref.get("reason") == "corrupt_input"
    ignored = {".source.offset", ".source.line"} if corrupt else set()
    if kind == "dropped":
        ignored.add(".detail")
        if isinstance(got, Obj) and not isinstance(got.get("detail"), str):
            return ".detail: missing or not a string in the spool"
        if corrupt and isinstance(got, Obj) and isinstance(got.get("source"), Obj):
            for key in ("offset", "line"):
                if not is_integer(got.get("source").get(key)):
                    return ".source.%s: missing or not an integer in the spool" % key
    return first_difference(ref, got, "", False, lambda path: path in ignored)


def fail(message):
    print("compare_spools: " + message, file=sys.stderr)
    sys.exit(2)


def load(paths):
    records = []
    for path in paths:
        try:
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rb") as f:
                data = f.read()
        except (OSError, EOFError) as e:
            fail("cannot read %s: %s" % (path, e))
        for number, line in enumerate(data.split(b"\n"), 1):
            if line == b"":
                continue
            try:
                records.append((parse(line.decode("utf-8")), "%s:%d" % (path, number)))
            except ValueError as e:  # also UnicodeDecodeError
                fail("%s line %d is not JSON: %s" % (path, number, e))
    return records


def spool_files(directory):
    if not os.path.isdir(directory):
        print("compare_spools: warning: %s does not exist; treating it as empty" % directory, file=sys.stderr)
        return []
    names = glob.glob(os.path.join(glob.escape(directory), "*.ndjson")) + \
        glob.glob(os.path.join(glob.escape(directory), "*.ndjson.gz"))
    return sorted(names, key=lambda p: os.fsencode(os.path.basename(p)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", required=True, help="directory written by reference_ingest.py --out")
    parser.add_argument("--spool", required=True, help="nudge-ingest spool directory")
    args = parser.parse_args(argv)

    differences = []
    counts = {}
    for kind in ("accepted", "dropped"):
        ref = load([os.path.join(args.reference, kind + ".ndjson")])
        got = load(spool_files(os.path.join(args.spool, kind)))
        counts[kind] = len(ref)
        for i in range(max(len(ref), len(got))):
            r, where_r = ref[i] if i < len(ref) else (None, "(none)")
            g, where_g = got[i] if i < len(got) else (None, "(none)")
            if i >= len(ref):
                why = "record %d is only in the spool" % (i + 1)
            elif i >= len(got):
                why = "record %d is only in the reference" % (i + 1)
            else:
                why = compare_records(kind, r, g)
            if why:
                differences.append((kind, i + 1, why, where_r, r, where_g, g))

    if differences:
        for kind, index, why, where_r, r, where_g, g in differences[:MAX_SHOWN]:
            print("%s record %d: %s" % (kind, index, why))
            print("  reference %s: %s" % (where_r, show(r) if r is not None else "-"))
            print("  spool     %s: %s" % (where_g, show(g) if g is not None else "-"))
        more = len(differences) - MAX_SHOWN
        print("%d difference(s)%s" % (len(differences), " (%d not shown)" % more if more > 0 else ""))
        return 1
    print("spools match: %d accepted, %d dropped" % (counts["accepted"], counts["dropped"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
