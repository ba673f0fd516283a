#!/usr/bin/env python3
"""The nudge-ingest benchmark: `run` in a release build against `pigz -dc` on the same files.

    python3 scripts/benchmark.py                 # 1M events, clean and dirty, 5 runs each
    python3 scripts/benchmark.py --events 200000 --runs 3 --mix clean

For each mix it generates (once, cached under .build/benchmark-data/) a realistic Segment
archive export with scripts/generate_export.py, then measures, in the same session:

- `pigz -dc FILES | wc -l` and `gzip -dc FILES | wc -l`: the inflate floor;
- Python's `zlib.decompressobj`, streaming, inflate only;
- `nudge-ingest run --inflate zlib --spool DIR FILES` (and `--inflate isal` where ISA-L is
  installed), each run on a fresh spool after `sync`: median wall
  time, events/s, MB/s of compressed and of uncompressed input, peak RSS, and the CPU time
  of each kind of thread (read + inflate, parse, sequencer, write), read from /proc while
  it runs;
- scaling: `run --jobs N` pinned with `taskset` to N cores, for N = 1, 2, 4, … up to the
  cores present, with the speed-up over `--jobs 1` on one core; and whether the spools of
  every N are byte for byte those of `--jobs 1` (`cmp`, the ledger's times aside);
- heap allocations per record: one more run (which also gives the summary) under an
  LD_PRELOAD counter (scripts/bench/count_allocations.c), minus a run on an empty input;
- peak RSS on the same files given 5 times (5x the input, no new identity state);
- with --profile and `perf` installed: where the deciding thread's time goes, by stage.

It prints a Markdown table with the ratio to pigz and the issue's targets.
"""
import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, ".build", "benchmark-data")
TOOL = os.path.join(ROOT, ".build", "release", "nudge-ingest")


def thread_kind(name):
    """Threads by role: `ingest-read-3` and `ingest-read-0` are both readers."""
    return {"nudge-ingest": "sequencer", "ingest-write": "write", "-qos.overcommit": "runtime"}.get(
        name, re.sub(r"^ingest-(read|parse)-\d+$", lambda m: {"read": "read+inflate", "parse": "parse"}[m.group(1)],
                     name))


def log(message):
    print(message, file=sys.stderr, flush=True)


def export_files(args, dirty):
    name = "events-%d-files-%d-users-%d-seed-%d-dirty-%g" % (args.events, args.files, args.users, args.seed, dirty)
    directory = os.path.join(DATA, name)
    if not os.path.exists(os.path.join(directory, "complete")):
        shutil.rmtree(directory, ignore_errors=True)
        log("generating %s (once; cached) ..." % name)
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "generate_export.py"), "--out", directory,
                        "--events", str(args.events), "--files", str(args.files), "--days", str(args.days),
                        "--users", str(args.users), "--seed", str(args.seed), "--dirty", str(dirty)],
                       check=True, stdout=subprocess.DEVNULL)
        open(os.path.join(directory, "complete"), "w").close()
    return sorted(glob.glob(os.path.join(directory, "segment-logs", "**", "*.gz"), recursive=True))


def inflate(files, sink=None):
    """Streams every file through zlib, gzip member after member, handing `sink` each block."""
    for path in files:
        with open(path, "rb") as f:
            d = zlib.decompressobj(31)
            while True:
                block = f.read(1 << 18)
                if not block:
                    break
                while block:
                    out = d.decompress(block)
                    if sink:
                        sink(out)
                    block = d.unused_data if d.eof else b""
                    if d.eof:
                        d = zlib.decompressobj(31)


def sizes(files):
    """Compressed bytes, uncompressed bytes and lines."""
    totals = {"raw": 0, "lines": 0}

    def count(out):
        totals["raw"] += len(out)
        totals["lines"] += out.count(b"\n")

    inflate(files, count)
    return sum(os.path.getsize(f) for f in files), totals["raw"], totals["lines"]


def inflate_only_seconds(files):
    started = time.perf_counter()
    inflate(files)
    return time.perf_counter() - started


def timed(command, env=None, poll_threads=False):
    """Wall seconds, peak RSS in KiB, and {thread name: cpu seconds} of one run."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    threads = {}
    ticks = os.sysconf("SC_CLK_TCK")
    finished = None
    while poll_threads:
        finished = os.wait4(process.pid, os.WNOHANG)
        if finished[0] != 0:
            break
        for task in glob.glob("/proc/%d/task/*" % process.pid):
            try:
                stat = open(task + "/stat").read()
                name = open(task + "/comm").read().strip()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            threads[task] = (name, (int(fields[11]) + int(fields[12])) / ticks)
        time.sleep(0.02)
    _, status, usage = finished if finished and finished[0] != 0 else os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    wall = time.perf_counter() - started
    if process.returncode not in (0, 2):
        raise SystemExit("command failed: %s" % " ".join(command[:3]))
    cpu = {}
    for name, seconds in threads.values():
        kind = thread_kind(name)
        cpu[kind] = cpu.get(kind, 0) + seconds
    return wall, usage.ru_maxrss, cpu


def shell_pipeline(text, files):
    return ["bash", "-c", text + ' "$@" | wc -l >/dev/null', "_"] + files


def measure(label, command, runs, fresh_spool=None, poll_threads=False):
    results = []
    for i in range(runs):
        if fresh_spool:
            shutil.rmtree(fresh_spool, ignore_errors=True)
            os.sync()
        results.append(timed(command, poll_threads=poll_threads))
        log("  %-18s run %d: %.2f s" % (label, i + 1, results[-1][0]))
    results.sort(key=lambda r: r[0])
    median = results[len(results) // 2]
    return {"wall": median[0], "walls": [r[0] for r in results], "rss_kib": max(r[1] for r in results),
            "threads": median[2]}


def summary_and_allocations(files, scratch):
    """One more run with `--json`: its summary, and, with a C compiler at hand, the heap
    allocations per record, counted by an LD_PRELOAD shim and net of a run on an empty
    input (None without a compiler)."""
    compiler = shutil.which("cc") or shutil.which("clang") or shutil.which("gcc")
    shim = os.path.join(DATA, "count_allocations.so")
    if compiler:
        source = os.path.join(ROOT, "scripts", "bench", "count_allocations.c")
        if not os.path.exists(shim) or os.path.getmtime(shim) < os.path.getmtime(source):
            subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", shim, source], check=True)

    def run(inputs):
        report = os.path.join(scratch, "allocations")
        if os.path.exists(report):
            os.remove(report)
        spool = os.path.join(scratch, "alloc-spool")
        shutil.rmtree(spool, ignore_errors=True)
        env = dict(os.environ, LD_PRELOAD=shim, COUNT_ALLOCATIONS_FILE=report) if compiler else None
        done = subprocess.run([TOOL, "run", "--spool", spool, "--json"] + inputs, env=env, capture_output=True,
                              text=True)
        shutil.rmtree(spool, ignore_errors=True)
        calls = int(open(report).read().split()[1]) if compiler else None
        return json.loads(done.stdout), calls

    summary, calls = run(files)
    if not compiler:
        return summary, None
    empty = os.path.join(scratch, "empty.ndjson")
    open(empty, "w").close()
    _, base_calls = run([empty])
    return summary, {"total": calls, "startup": base_calls, "per_record": (calls - base_calls) / summary["records"]}


STAGES = [  # (stage, pattern on the mangled symbol), first match wins
    ("scan", r"Cursor|JSONScanner|JSONBytes"),
    ("decide", r"Decider|IdentityState|FingerprintTable|Fingerprint|UnicodeText|Timestamp|DecodeArena|JSONString|DetailText"),
    ("encode", r"RecordEncoder|PropsEncoder|JSONOutput|OutputBuffer|Reader"),
    ("frame", r"LineFramer|memchr"),
    ("hand-off", r"ParallelRecordStage|BackgroundWriter|NSCondition|pthread|futex|SpoolWriter"),
]


def isal_available(scratch):
    """Whether the binary can inflate with ISA-L here (`--inflate isal` is refused if not)."""
    empty = os.path.join(scratch, "empty.ndjson")
    open(empty, "w").close()
    spool = os.path.join(scratch, "isal-check")
    done = subprocess.run([TOOL, "run", "--inflate", "isal", "--spool", spool, empty], capture_output=True)
    shutil.rmtree(spool, ignore_errors=True)
    return done.returncode == 0


def spool_digest(spool):
    """A digest of every spool file a run writes, the ledger's commit times (and the
    checksums over them) aside: equal digests are byte-for-byte equal spools.

    Files are hashed 1 MiB at a time: this process must stay small, because `wait4`
    reports this process's peak RSS as that of a child it forks later when it is the
    larger (reading whole spool files here once made a 114 MiB run show 218 MiB)."""
    import hashlib
    digest = hashlib.sha256()
    for folder in ("accepted", "dropped", "state"):
        for name in sorted(os.listdir(os.path.join(spool, folder))):
            if name == "lock":
                continue
            digest.update(folder.encode() + b"/" + name.encode() + b"\0")
            with open(os.path.join(spool, folder, name), "rb") as file:
                if name == "ledger.ndjson":
                    digest.update(re.sub(rb'"(committed_at|crc32)":"[^"]*"', b"", file.read()))
                    continue
                while chunk := file.read(1 << 20):
                    digest.update(chunk)
    return digest.hexdigest()


def scaling(files, scratch, runs):
    """`run --jobs N` on N cores (taskset) for N = 1, 2, 4, … up to the cores present:
    median wall, speed-up over N = 1, and whether each spool equals that of N = 1."""
    cores = len(os.sched_getaffinity(0))
    counts = [1]
    while counts[-1] * 2 <= cores:
        counts.append(counts[-1] * 2)
    if counts[-1] != cores:
        counts.append(cores)
    rows = []
    spool = os.path.join(scratch, "scaling-spool")
    reference = None
    for jobs in counts:
        pin = ["taskset", "-c", "0-%d" % (jobs - 1)] if shutil.which("taskset") else []
        m = measure("--jobs %d on %d core%s" % (jobs, jobs, "s" if jobs > 1 else ""),
                    pin + [TOOL, "run", "--jobs", str(jobs), "--spool", spool] + files, runs, fresh_spool=spool)
        digest = spool_digest(spool)
        reference = reference or digest
        rows.append({"jobs": jobs, "wall": m["wall"], "rss_kib": m["rss_kib"], "same_spool": digest == reference})
    shutil.rmtree(spool, ignore_errors=True)
    return rows


def profile(files, scratch):
    """The sequencer's samples by stage, as shares of that thread (needs `perf`).

    Only the sequencer (main) thread is split: perf's kernel samples in this VM are not
    comparable with /proc's CPU times, so thread totals come from /proc instead."""
    if not shutil.which("perf"):
        return None
    data = os.path.join(scratch, "perf.data")
    spool = os.path.join(scratch, "perf-spool")
    shutil.rmtree(spool, ignore_errors=True)
    os.sync()
    recorded = subprocess.run(["perf", "record", "-q", "-F", "1999", "-o", data, TOOL, "run", "--spool", spool] + files,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(spool, ignore_errors=True)
    if recorded.returncode not in (0, 2):
        return None
    report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--comm", "nudge-ingest", "--sort", "dso,sym",
                             "--percent-limit", "0"], capture_output=True, text=True).stdout
    split = {}
    for line in report.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)", line)
        if not m:
            continue
        share, kind, symbol = float(m.group(1)), m.group(3), m.group(4)
        if kind == "k":
            stage = "kernel"
        else:
            stage = next((name for name, pattern in STAGES if re.search(pattern, symbol)), "other")
        split[stage] = split.get(stage, 0) + share
    total = sum(split.values()) or 1
    return {stage: share / total for stage, share in sorted(split.items(), key=lambda kv: -kv[1])}


def benchmark(args, mix, scratch):
    files = export_files(args, 0.1 if mix == "dirty" else 0.0)
    compressed, raw, lines = sizes(files)
    log("%s export: %d files, %d lines, %.0f MB gzip, %.0f MB uncompressed"
        % (mix, len(files), lines, compressed / 1e6, raw / 1e6))
    spool = os.path.join(scratch, "spool")
    result = {"mix": mix, "files": len(files), "lines": lines, "compressed_bytes": compressed, "raw_bytes": raw}
    result["python_inflate"] = min(inflate_only_seconds(files) for _ in range(max(1, min(args.runs, 3))))
    if shutil.which("pigz"):
        result["pigz"] = measure("pigz -dc | wc -l", shell_pipeline("pigz -dc", files), args.runs)
    else:
        log("  pigz is not installed (apt-get install pigz): no ratio to pigz")
    result["gzip"] = measure("gzip -dc | wc -l", shell_pipeline("gzip -dc", files), args.runs)
    result["run"] = measure("run --inflate zlib", [TOOL, "run", "--inflate", "zlib", "--spool", spool] + files,
                            args.runs, fresh_spool=spool, poll_threads=True)
    if isal_available(scratch):
        result["run_isal"] = measure("run --inflate isal", [TOOL, "run", "--inflate", "isal", "--spool", spool] + files,
                                     args.runs, fresh_spool=spool, poll_threads=True)
    else:
        log("  ISA-L is not installed (apt-get install libisal-dev, then rebuild): no --inflate isal row")
    result["summary"], result["allocations"] = summary_and_allocations(files, scratch)
    if args.scaling:
        result["scaling"] = scaling(files, scratch, max(1, min(args.runs, 3)))
    if args.five_x:
        result["run_5x"] = measure("run on 5x input", [TOOL, "run", "--spool", spool] + files * 5, 1,
                                   fresh_spool=spool)
    if args.profile:
        result["profile"] = profile(files, scratch)
    shutil.rmtree(spool, ignore_errors=True)
    return result


def report(results):
    out = []
    out.append("| mix | command | median wall | events/s | MB/s gzip | MB/s raw | peak RSS | vs pigz |")
    out.append("|---|---|---|---|---|---|---|---|")
    for r in results:
        pigz = r.get("pigz", {}).get("wall")
        rows = [("`pigz -dc \\| wc -l`", r.get("pigz")), ("`gzip -dc \\| wc -l`", r["gzip"]),
                ("Python zlib, inflate only", {"wall": r["python_inflate"], "rss_kib": None}),
                ("**`nudge-ingest run --inflate zlib`**", r["run"]),
                ("**`nudge-ingest run --inflate isal`**", r.get("run_isal"))]
        for name, m in rows:
            if not m:
                continue
            wall = m["wall"]
            rss = "%.0f MiB" % (m["rss_kib"] / 1024) if m.get("rss_kib") else "–"
            ratio = "%.2f×" % (wall / pigz) if pigz else "–"
            out.append("| %s | %s | %.2f s | %s | %.0f | %.0f | %s | %s |" % (
                r["mix"], name, wall, "{:,}".format(int(r["lines"] / wall)), r["compressed_bytes"] / wall / 1e6,
                r["raw_bytes"] / wall / 1e6, rss, ratio))
    out.append("")
    for r in results:
        s = r["summary"]
        out.append("**%s** (%d files, %s lines, %.0f MB gzip, %.0f MB uncompressed): %s records, %s accepted, %s dropped"
                   % (r["mix"], r["files"], "{:,}".format(r["lines"]), r["compressed_bytes"] / 1e6,
                      r["raw_bytes"] / 1e6, "{:,}".format(s["records"]), "{:,}".format(s["accepted"]),
                      "{:,}".format(s["dropped"])))
        threads = r["run"]["threads"]
        for label, run in (("zlib", r["run"]), ("isal", r.get("run_isal"))):
            if run and run["threads"]:
                out.append("- CPU by thread kind, --inflate %s (median run): " % label + ", ".join(
                    "%s %.2f s" % (name, seconds)
                    for name, seconds in sorted(run["threads"].items(), key=lambda kv: -kv[1])))
        if r.get("allocations"):
            a = r["allocations"]
            out.append("- heap allocations: %.4f per record (%s in the run, %s of them at startup)"
                       % (a["per_record"], "{:,}".format(a["total"]), "{:,}".format(a["startup"])))
        if r.get("run_5x"):
            out.append("- peak RSS on the same files given 5 times: %.0f MiB" % (r["run_5x"]["rss_kib"] / 1024))
        if r.get("scaling"):
            base = r["scaling"][0]["wall"]
            out.append("")
            out.append("| `--jobs N` on N cores | median wall | speed-up over 1 | vs pigz | peak RSS | spools = `--jobs 1` |")
            out.append("|---|---|---|---|---|---|")
            for row in r["scaling"]:
                out.append("| %d | %.2f s | %.2f× | %s | %.0f MiB | %s |" % (
                    row["jobs"], row["wall"], base / row["wall"],
                    "%.2f×" % (row["wall"] / pigz) if pigz else "–", row["rss_kib"] / 1024,
                    "yes" if row["same_spool"] else "**NO**"))
            out.append("")
        if r.get("profile") and threads.get("sequencer"):
            decide = threads["sequencer"]
            out.append("- sequencer thread by stage (perf samples × its CPU time): " + ", ".join(
                "%s %.2f s" % (stage, share * decide) for stage, share in r["profile"].items() if share >= 0.005))
        pigz = r.get("pigz", {}).get("wall")
        checks = []
        if pigz:
            ratio = r["run"]["wall"] / pigz
            checks.append("wall ≤ 0.8× pigz (zlib): %s (%.2f×)" % ("yes" if ratio <= 0.8 else "NO", ratio))
            if r.get("run_isal"):
                ratio = r["run_isal"]["wall"] / pigz
                checks.append("≤ 0.6× pigz (ISA-L): %s (%.2f×)" % ("yes" if ratio <= 0.6 else "NO", ratio))
        two = [row for row in r.get("scaling", []) if row["jobs"] == 2]
        if two:
            speedup = r["scaling"][0]["wall"] / two[0]["wall"]
            checks.append("--jobs 2 on 2 cores ≥ 1.8× --jobs 1 on 1: %s (%.2f×)" % ("yes" if speedup >= 1.8 else "NO", speedup))
        rss = r["run"]["rss_kib"] / 1024
        checks.append("peak RSS ≤ 100 MiB: %s (%.0f MiB)" % ("yes" if rss <= 100 else "NO", rss))
        out.append("- targets: " + "; ".join(checks))
        out.append("")
    return "\n".join(out)


def use_tool(path, product="nudge-ingest"):
    """Measures the binary at `path` (`--tool`), or builds the release one (`product`
    alone, or the whole package with None)."""
    global TOOL
    if path:
        TOOL = os.path.abspath(path)
        return
    log("building the release binary ...")
    subprocess.run(["swift", "build", "-c", "release", "--package-path", ROOT]
                   + (["--product", product] if product else []), check=True, stdout=subprocess.DEVNULL)


def add_export_arguments(parser):
    """The generated export's shape, as `export_files` takes it."""
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_export_arguments(parser)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command (median reported)")
    parser.add_argument("--mix", choices=["clean", "dirty", "both"], default="both",
                        help="clean: no bad lines; dirty: 10%% bad lines covering every drop reason")
    parser.add_argument("--five-x", action="store_true", help="also measure peak RSS on 5x the input")
    parser.add_argument("--profile", action="store_true", help="also profile one run with perf")
    parser.add_argument("--no-scaling", dest="scaling", action="store_false",
                        help="leave out the --jobs scaling table")
    parser.add_argument("--tool", help="measure this nudge-ingest binary instead of building one (e.g. a static "
                        "build carried to a bigger machine)")
    parser.add_argument("--json", metavar="FILE", help="also write the raw results as JSON")
    args = parser.parse_args()

    use_tool(args.tool, product=None)
    os.makedirs(DATA, exist_ok=True)
    mixes = ["clean", "dirty"] if args.mix == "both" else [args.mix]
    with tempfile.TemporaryDirectory(prefix="nudge-bench-", dir=os.path.join(ROOT, ".build")) as scratch:
        results = [benchmark(args, mix, scratch) for mix in mixes]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    print(report(results))


if __name__ == "__main__":
    main()
