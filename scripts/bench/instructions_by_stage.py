#!/usr/bin/env python3
"""Instructions per uncompressed input byte, by stage, of one `nudge-ingest run`.

    python3 scripts/bench/instructions_by_stage.py [--tool BINARY] [--inflate zlib|isal] FILE.gz…

Runs the release binary under valgrind's callgrind (`--jobs 1`: callgrind runs one
thread at a time anyway), takes each function's own instruction count, groups the
functions into the pipeline's stages by symbol, subtracts a run on an empty input (the
runtime's start-up), and divides by the inputs' uncompressed bytes. Valgrind cannot
read the Swift binary's DWARF, so it runs a copy without debug info (`objcopy
--strip-debug`; the symbol table stays). Instruction counts do not depend on the machine's load, so this
is the number to compare between builds. Needs valgrind (apt-get install valgrind).
"""
import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

STAGES = [  # (stage, pattern on the demangled or mangled symbol), first match wins
    ("inflate (zlib)", r"libz\.so"),
    ("inflate (ISA-L)", r"isal|igzip|decode_huffman|crc32_gzip|libisal"),
    ("content hash", r"ContentHash"),
    ("frame", r"LineFramer|memchr"),
    ("scan", r"JSONScanner|Cursor|JSONBlock|JSONBytes"),
    ("parse: facts", r"RecordParser|UnicodeText|Timestamp|DecodeArena|JSONString|DetailText|Fingerprint\b|FingerprintV"),
    ("encode", r"RecordEncoder|PropsEncoder|JSONOutput"),
    ("decide (sequencer)", r"Decider|IdentityState|FingerprintTable|WaitingTracks"),
    ("copies (memcpy)", r"memcpy|memmove|OutputBuffer"),
    ("hand-off and threads", r"ParallelRecordStage|DecompressPipeline|WaitLock|BackgroundWriter|pthread|futex|NSCondition"),
]


def uncompressed_bytes(files):
    total = 0
    for path in files:
        with open(path, "rb") as f:
            head = f.read(2)
        opener = gzip.open if head == b"\x1f\x8b" else open
        try:
            with opener(path, "rb") as f:
                while True:
                    block = f.read(1 << 20)
                    if not block:
                        break
                    total += len(block)
        except (EOFError, OSError):
            pass  # a truncated file: the bytes before the break count
    return total


def stages(tool, files, inflate, scratch, old_cli=False):
    """Instructions by stage of one run over `files`."""
    out = os.path.join(scratch, "callgrind.out")
    spool = os.path.join(scratch, "spool")
    shutil.rmtree(spool, ignore_errors=True)
    options = [] if old_cli else ["--jobs", "1", "--inflate", inflate]
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, tool, "run"] + options
                   + ["--spool", spool] + files,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    report = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no", out],
                            capture_output=True, text=True).stdout
    totals = {}
    for line in report.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)", line)
        if not m or "PROGRAM TOTALS" in m.group(2):
            continue
        count, symbol = int(m.group(1).replace(",", "")), m.group(2)
        stage = next((name for name, pattern in STAGES if re.search(pattern, symbol)), "other (runtime, libc)")
        totals[stage] = totals.get(stage, 0) + count
    return totals


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--tool", default=os.path.join(ROOT, ".build", "release", "nudge-ingest"))
    parser.add_argument("--inflate", default="zlib")
    parser.add_argument("--old-cli", action="store_true",
                        help="the binary predates --jobs and --inflate (a build before issue 16): pass neither")
    args = parser.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    raw = uncompressed_bytes(args.files)
    with tempfile.TemporaryDirectory(prefix="nudge-callgrind-") as scratch:
        tool = os.path.join(scratch, "nudge-ingest")
        subprocess.run(["objcopy", "--strip-debug", args.tool, tool], check=True)
        empty = os.path.join(scratch, "empty.ndjson")
        open(empty, "w").close()
        startup = stages(tool, [empty], args.inflate, scratch, args.old_cli)
        totals = stages(tool, args.files, args.inflate, scratch, args.old_cli)
    for stage, count in startup.items():
        totals[stage] = totals.get(stage, 0) - count
    everything = sum(totals.values())
    print("| stage | instructions | per uncompressed byte |")
    print("|---|---|---|")
    for stage, count in sorted(totals.items(), key=lambda kv: -kv[1]):
        print("| %s | %s | %.2f |" % (stage, "{:,}".format(count), count / raw))
    print("| **all** | %s | **%.2f** |" % ("{:,}".format(everything), everything / raw))
    print("\n%s uncompressed bytes in %d files" % ("{:,}".format(raw), len(args.files)))


if __name__ == "__main__":
    main()
