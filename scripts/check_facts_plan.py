#!/usr/bin/env python3
"""Check the group-by plan against a spool `run` wrote from the same inputs.

    check_facts_plan.py SPOOL DECISIONS.tsv INPUT…

DECISIONS.tsv is what deploy/spark/groupby_decide.py printed for the facts of the
INPUTs, given in the same order (run's order). Every record of the spool's accepted
and dropped files (gzip or plain) must have the outcome, and an accepted anonymous
track the `resolved_via`, that the plan gave its (input, line), and the plan must give
no record the spool lacks. Prints the counts compared; exits 1 on any mismatch.
"""
import collections
import glob
import gzip
import json
import os
import sys


def spool_records(spool):
    for folder in ("accepted", "dropped"):
        for path in sorted(glob.glob(os.path.join(spool, folder, "*.ndjson*"))):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as lines:
                for line in lines:
                    yield folder, json.loads(line)


def main(spool, decisions_path, inputs):
    expected = {}
    with open(decisions_path, encoding="utf-8") as decisions:
        for row in decisions:
            number, line, outcome, via = row.rstrip("\n").split("\t")
            expected[(inputs[int(number)], int(line))] = (outcome, via or None)
    seen = {}
    for folder, record in spool_records(spool):
        source = record["source"]
        if folder == "accepted":
            outcome = (f"accepted:{record['kind']}", record.get("resolved_via"))
        elif record["reason"] == "corrupt_input":
            continue  # a fault, not a record
        else:
            outcome = (f"dropped:{record['reason']}", None)
        seen[(source["file"], source["line"])] = outcome
    mismatches = [(key, seen.get(key), expected.get(key))
                  for key in sorted(set(seen) | set(expected), key=str) if seen.get(key) != expected.get(key)]
    counts = collections.Counter(outcome for outcome, _ in seen.values())
    print(f"{len(seen)} records in the spool, {len(expected)} decided by the plan; "
          + ", ".join(f"{outcome} {count}" for outcome, count in sorted(counts.items())))
    for key, spool_outcome, plan_outcome in mismatches[:20]:
        print(f"MISMATCH {key[0]}:{key[1]}: spool {spool_outcome}, plan {plan_outcome}")
    if mismatches:
        sys.exit(f"{len(mismatches)} records differ")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
