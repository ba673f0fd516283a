#!/usr/bin/env python3
"""The replay benchmark: `nudge-ingest replay` against scripts/fake_nudge.py on loopback.

    python3 scripts/replay_benchmark.py                      # 100k events, each scenario once
    python3 scripts/replay_benchmark.py --events 20000 --runs 3 --only clean --only flaky
    python3 scripts/replay_benchmark.py --tool path/to/nudge-ingest --json results.json

It generates (once, cached under .build/benchmark-data/, named as scripts/benchmark.py
names its exports, so either reuses the other's) a clean Segment export with
scripts/generate_export.py, builds one spool from it with `nudge-ingest run`, and then,
for each scenario and run, replays a fresh copy of that spool into a fresh fake Nudge
(`fake_nudge.py --quiet-log --bodies`, asyncio engine) with the scenario's faults:

- `clean`: no faults, default replay options;
- `latency 50 ms, 4 fixed slots`: every answer 50 ms late, `--concurrency 4
  --fixed-concurrency` (a tool without that flag is rerun with `--concurrency 4` alone,
  and the table says so);
- `latency 50 ms, adaptive`: every answer 50 ms late, default options;
- `flaky`: every 29th request cut mid-body (TCP RST), every 13th answered 500, every
  31st 429 without `Retry-After`; default options. (A `Retry-After` pauses every request
  for its length, by design: 500 of them of a second each would measure the pauses, not
  the client. The replay tests cover 429 storms with `Retry-After`.)

Measured per replay: wall time (process start to exit), user+system CPU and peak RSS of
the replay process (wait4's rusage), and its `--json` summary. A replay is killed after
--scenario-timeout seconds and reported as `timeout`. Checked from the server's log and
the bodies it received: every accepted record was acknowledged (a 2xx answer) at least
once, counting each Idempotency-Key once (`lost`: accepted records never acknowledged
nor written to SPOOL/rejected), and no record was acknowledged under two different keys
(`doubled`). Records are told apart by their body (canonical JSON), compared as
multisets with the accepted spool. A replay that stopped early (exit 2) leaves its
`remaining` records for the next replay; they count as lost here.

It prints a Markdown table (the median run by wall time, with --runs > 1) and the
issue's targets: clean records/s >= 20,000; adaptive-latency time <= 1/3 of the fixed-4
time; flaky time <= 3x the clean time. Standard library only; the tool is not built
unless --build is given (`swift build -c release --product nudge-ingest`).
"""
import argparse
import collections
import glob
import gzip
import hashlib
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, ".build", "benchmark-data")
TOOL = os.path.join(ROOT, ".build", "release", "nudge-ingest")
FAKE = os.path.join(ROOT, "scripts", "fake_nudge.py")

SCENARIOS = [
    {"name": "clean", "faults": {}, "args": []},
    {"name": "latency 50 ms, 4 fixed slots", "faults": {"latency": 0.05},
     "args": ["--concurrency", "4", "--fixed-concurrency"], "fallback": ["--concurrency", "4"]},
    {"name": "latency 50 ms, adaptive", "faults": {"latency": 0.05}, "args": []},
    {"name": "flaky", "faults": {"cut_every": 29, "status_every": {"13": [500, None], "31": [429, None]}}, "args": []},
]


def log(message):
    print(message, file=sys.stderr, flush=True)


def export_files(args):
    """The export's .gz files, generated once (the naming is scripts/benchmark.py's)."""
    name = "events-%d-files-%d-users-%d-seed-%d-dirty-%g" % (args.events, args.files, args.users, args.seed, 0.0)
    directory = os.path.join(DATA, name)
    if not os.path.exists(os.path.join(directory, "complete")):
        shutil.rmtree(directory, ignore_errors=True)
        log("generating %s (once; cached) ..." % name)
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "generate_export.py"), "--out", directory,
                        "--events", str(args.events), "--files", str(args.files), "--days", str(args.days),
                        "--users", str(args.users), "--seed", str(args.seed), "--dirty", "0"],
                       check=True, stdout=subprocess.DEVNULL)
        open(os.path.join(directory, "complete"), "w").close()
    return sorted(glob.glob(os.path.join(directory, "segment-logs", "**", "*.gz"), recursive=True))


def fingerprint(kind, body):
    """A record's identity as far as Nudge can tell: its kind and body, canonical JSON."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b((kind + "\n" + text).encode("utf-8"), digest_size=16).digest()


def spool_records(spool):
    """Counter of the accepted spool's records by fingerprint, and counts by kind."""
    records, kinds = collections.Counter(), collections.Counter()
    for path in sorted(glob.glob(os.path.join(spool, "accepted", "*.ndjson"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    record = json.loads(line)
                    records[fingerprint(record["kind"], record["body"])] += 1
                    kinds[record["kind"]] += 1
    return records, kinds


def rejected_records(spool):
    rejected = collections.Counter()
    path = os.path.join(spool, "rejected", "rejected.ndjson.gz")
    plain = os.path.join(spool, "rejected", "rejected.ndjson")  # spools from before it was compressed
    opener = (lambda: gzip.open(path, "rt", encoding="utf-8")) if os.path.exists(path) else \
        (lambda: open(plain, encoding="utf-8"))
    if os.path.exists(path) or os.path.exists(plain):
        with opener() as f:
            for line in f:
                if line.strip():
                    try:
                        record = json.loads(line)
                        rejected[fingerprint(record.get("kind", "?"), record.get("body"))] += 1
                    except ValueError:
                        pass  # a line cut by a kill
    return rejected


class FakeNudge:
    """fake_nudge.py in the background, with a quiet log and the raw bodies."""

    def __init__(self, directory, api_key, faults, engine):
        self.log = os.path.join(directory, "requests.ndjson")
        self.bodies = os.path.join(directory, "bodies.bin")
        self.stderr = open(os.path.join(directory, "server.stderr"), "w")
        self.process = subprocess.Popen(
            [sys.executable, FAKE, "--log", self.log, "--bodies", self.bodies, "--quiet-log", "--api-key", api_key,
             "--faults", json.dumps(faults), "--engine", engine],
            stdout=subprocess.PIPE, stderr=self.stderr)
        ready, _, _ = select.select([self.process.stdout], [], [], 30)
        line = self.process.stdout.readline().decode() if ready else ""
        if not line.startswith("listening on "):
            self.process.kill()
            raise SystemExit("fake_nudge.py did not start: %r (see %s)" % (line, self.stderr.name))
        self.endpoint = "http://127.0.0.1:%d" % int(line.split()[-1])

    def stop(self):
        """Stops the server (SIGTERM flushes its log); its CPU seconds."""
        self.process.send_signal(signal.SIGTERM)
        timer = threading.Timer(10, self.process.kill)
        timer.start()
        _, status, usage = os.wait4(self.process.pid, 0)
        timer.cancel()
        self.process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        self.process.stdout.close()
        self.stderr.close()
        return usage.ru_utime + usage.ru_stime

    def check(self, expected, rejected):
        """What the server acknowledged, against the accepted spool."""
        entries = []
        with open(self.log, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    entries.append(json.loads(line))
        statuses = collections.Counter("cut" if e.get("cut") else str(e.get("status")) for e in entries)
        first_ack = {}
        for e in entries:
            status = e.get("status")
            if isinstance(status, int) and 200 <= status < 300:
                key = e.get("idempotency_key") or "request %d" % e["n"]
                first_ack.setdefault(key, e)
        acknowledged_records = sum(e.get("elements") or 0 for e in first_ack.values())
        result = {"attempts": len(entries), "statuses": dict(statuses), "acknowledged_keys": len(first_ack),
                  "acknowledged_records": acknowledged_records}
        if all("body_at" in e for e in first_ack.values()):
            acknowledged = collections.Counter()
            with open(self.bodies, "rb") as f:
                blob = f.read()
            for e in first_ack.values():
                offset, length = e["body_at"]
                body = json.loads(blob[offset:offset + length])
                kind = "identify" if e["method"] == "PUT" else "track"
                for element in ([body] if kind == "identify" else body):
                    acknowledged[fingerprint(kind, element)] += 1
            lost = doubled = foreign = 0
            for fp in set(expected) | set(acknowledged) | set(rejected):
                settled = acknowledged[fp] + rejected[fp]
                lost += max(0, expected[fp] - settled)
                doubled += max(0, settled - expected[fp])
                if fp not in expected:
                    foreign += settled
            result.update(lost=lost, doubled=doubled, foreign=foreign, by="body")
        else:  # no bodies: by count only, where a loss and a double cancel out
            total, settled = sum(expected.values()), acknowledged_records + sum(rejected.values())
            result.update(lost=max(0, total - settled), doubled=max(0, settled - total), foreign=0, by="count")
        return result


def timed(command, env, timeout, stdout_path, stderr_path):
    """Runs command: (wall seconds, exit status or "timeout", rusage)."""
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        expired = threading.Event()

        def kill():
            expired.set()
            process.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return wall, "timeout" if expired.is_set() else process.returncode, usage


def parse_summary(text):
    """The replay's --json summary: the whole output, or its last line that is a JSON object."""
    for candidate in [text] + text.strip().splitlines()[::-1]:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}


def replay_once(args, scenario, spool, expected, scratch, index):
    directory = os.path.join(scratch, "run-%d" % index)
    notes = []
    extra = list(scenario["args"])
    while True:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        copy = os.path.join(directory, "spool")
        shutil.copytree(spool, copy)
        api_key = "bench-" + secrets.token_hex(8)
        server = FakeNudge(directory, api_key, scenario["faults"], args.engine)
        command = [args.tool, "replay", "--spool", copy, "--endpoint", server.endpoint, "--json"] + extra
        env = dict(os.environ, NUDGE_API_KEY=api_key)
        stdout_path, stderr_path = os.path.join(directory, "replay.stdout"), os.path.join(directory, "replay.stderr")
        wall, exit_status, usage = timed(command, env, args.scenario_timeout, stdout_path, stderr_path)
        server_cpu = server.stop()
        stderr = open(stderr_path, errors="replace").read()
        fallback = scenario.get("fallback")
        unknown_flag = fallback is not None and extra != fallback and exit_status == 1 and any(
            flag in stderr for flag in extra if flag.startswith("--") and flag not in fallback)
        if unknown_flag:
            notes.append("the tool refused `%s` (exit 1: %s); ran with `%s`" % (
                " ".join(extra), stderr.strip().splitlines()[-1][:160] if stderr.strip() else "usage error",
                " ".join(scenario["fallback"])))
            extra = list(scenario["fallback"])
            continue
        break
    summary = parse_summary(open(stdout_path, errors="replace").read())
    check = server.check(expected, rejected_records(copy))
    if exit_status not in (0, 2, "timeout"):
        notes.append("exit %s: %s" % (exit_status, stderr.strip().splitlines()[-1][:200] if stderr.strip() else ""))
    result = {"scenario": scenario["name"], "args": extra, "faults": scenario["faults"], "wall": wall,
              "exit_status": exit_status, "cpu": usage.ru_utime + usage.ru_stime, "user": usage.ru_utime,
              "sys": usage.ru_stime, "rss_kib": usage.ru_maxrss, "server_cpu": server_cpu, "summary": summary,
              "server": check, "notes": notes}
    if not args.keep:
        shutil.rmtree(directory, ignore_errors=True)
    return result


def acknowledged(r):
    value = r["summary"].get("acknowledged")
    return value if isinstance(value, int) else r["server"]["acknowledged_records"]


def fmt_int(value):
    return "{:,}".format(value) if isinstance(value, int) else "–"


def report(results, spool_info):
    out = ["| scenario | records acknowledged | requests | wall s | records/s | CPU s (user+sys) | peak RSS MiB "
           "| exit status | lost | doubled | server CPU s |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    median = {}
    for name, runs in results.items():
        finished = sorted((r for r in runs if r["exit_status"] != "timeout"), key=lambda r: r["wall"])
        r = finished[len(finished) // 2] if finished else runs[0]
        median[name] = r
        timeout = r["exit_status"] == "timeout"
        requests = r["summary"].get("requests")
        if not isinstance(requests, int):
            requests = r["server"]["acknowledged_keys"]
        walls = " (%s)" % ", ".join("%.2f" % x["wall"] for x in runs) if len(runs) > 1 else ""
        out.append("| %s | %s | %s | %s | %s | %.2f | %.0f | %s | %s | %s | %.2f |" % (
            name, fmt_int(acknowledged(r)), fmt_int(requests),
            "timeout (%.0f)" % r["wall"] if timeout else "%.2f%s" % (r["wall"], walls),
            "–" if timeout else fmt_int(int(acknowledged(r) / r["wall"])) if r["wall"] else "–",
            r["cpu"], r["rss_kib"] / 1024, r["exit_status"], fmt_int(r["server"]["lost"]),
            fmt_int(r["server"]["doubled"]), r["server_cpu"]))
    out.append("")
    out.append("Spool: %s accepted records (%s identifies, %s tracks)." % (
        fmt_int(spool_info["records"]), fmt_int(spool_info["identify"]), fmt_int(spool_info["track"])))
    for name, r in median.items():
        s, c = r["summary"], r["server"]
        latency = s.get("latency_ms") or {}
        bits = ["args `%s`" % " ".join(r["args"]) if r["args"] else "default options",
                "retries %s" % fmt_int(s.get("retries")),
                "tool's elapsed %s s" % ("%.2f" % s["elapsed_seconds"] if isinstance(s.get("elapsed_seconds"), (int, float)) else "–"),
                "latency p50/p99 %s/%s ms" % (latency.get("p50", "–"), latency.get("p99", "–")),
                "server saw %s attempts (%s), %s acknowledged keys" % (
                    fmt_int(c["attempts"]), ", ".join("%s: %s" % kv for kv in sorted(c["statuses"].items())),
                    fmt_int(c["acknowledged_keys"]))]
        concurrency = s.get("concurrency")
        if isinstance(concurrency, dict) and concurrency:
            bits.append("in flight " + ", ".join("%s %s" % kv for kv in concurrency.items()))
        if s.get("stopped"):
            bits.append("stopped: %s, remaining %s" % (s["stopped"], fmt_int(s.get("remaining"))))
        if c.get("foreign"):
            bits.append("%s acknowledged records not in the spool" % fmt_int(c["foreign"]))
        if c.get("by") == "count":
            bits.append("lost/doubled by count only (no bodies)")
        if not s:
            bits.append("no --json summary parsed")
        out.append("- **%s**: %s%s" % (name, "; ".join(bits), "".join("; **note:** " + n for n in r["notes"])))
    out.append("")

    def ok(r):
        return r is not None and r["exit_status"] == 0 and r["wall"] > 0

    targets = []
    clean = median.get("clean")
    fixed = median.get("latency 50 ms, 4 fixed slots")
    adaptive = median.get("latency 50 ms, adaptive")
    flaky = median.get("flaky")
    if clean:
        rate = acknowledged(clean) / clean["wall"] if ok(clean) else None
        targets.append("| clean records/s | %s | ≥ 20,000 | %s |" % (
            fmt_int(int(rate)) if rate else "–", "–" if rate is None else "yes" if rate >= 20000 else "NO"))
    if fixed and adaptive:
        ratio = adaptive["wall"] / fixed["wall"] if ok(fixed) and ok(adaptive) else None
        targets.append("| adaptive-latency time / fixed-4 time | %s | ≤ 0.33 | %s |" % (
            "–" if ratio is None else "%.3f" % ratio, "–" if ratio is None else "yes" if ratio <= 1 / 3 else "NO"))
    if flaky and clean:
        ratio = flaky["wall"] / clean["wall"] if ok(flaky) and ok(clean) else None
        targets.append("| flaky time / clean time | %s | ≤ 3 | %s |" % (
            "–" if ratio is None else "%.2f" % ratio, "–" if ratio is None else "yes" if ratio <= 3 else "NO"))
    if targets:
        out += ["| target | measured | goal | met |", "|---|---|---|---|"] + targets
        out.append("")
    out.append("A ratio shows only when both replays finished with exit status 0. `lost`: accepted records never "
               "acknowledged (nor rejected); `doubled`: records acknowledged under more than one Idempotency-Key.")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--users", type=int, help="distinct users (default events/25, the generator's)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tool", default=TOOL, help="the nudge-ingest binary (default .build/release/nudge-ingest)")
    parser.add_argument("--build", action="store_true", help="build the release binary first")
    parser.add_argument("--runs", type=int, default=1, help="replays of each scenario (the median is reported)")
    parser.add_argument("--scenario-timeout", type=float, default=300, help="seconds before a replay is killed")
    parser.add_argument("--only", action="append", metavar="SCENARIO",
                        help="run only this scenario (repeatable): " + ", ".join(s["name"] for s in SCENARIOS))
    parser.add_argument("--engine", choices=["asyncio", "threaded"], default="asyncio", help="fake_nudge.py's engine")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (spools, logs, outputs)")
    parser.add_argument("--json", metavar="FILE", help="also write the raw results as JSON")
    args = parser.parse_args()
    args.users = args.users or max(1, args.events // 25)
    args.tool = os.path.abspath(args.tool)
    scenarios = [s for s in SCENARIOS if not args.only or s["name"] in args.only]
    if args.only and len(scenarios) != len(set(args.only)):
        parser.error("unknown scenario in --only; the scenarios: " + ", ".join(s["name"] for s in SCENARIOS))

    if args.build:
        log("building the release binary ...")
        subprocess.run(["swift", "build", "-c", "release", "--product", "nudge-ingest", "--package-path", ROOT],
                       check=True, stdout=subprocess.DEVNULL)
    if not os.access(args.tool, os.X_OK):
        raise SystemExit("no tool at %s: build it (swift build -c release --product nudge-ingest, or --build) "
                         "or give --tool" % args.tool)
    os.makedirs(DATA, exist_ok=True)
    files = export_files(args)
    scratch = tempfile.mkdtemp(prefix="nudge-replay-bench-", dir=os.path.join(ROOT, ".build"))
    try:
        spool = os.path.join(scratch, "spool")
        log("building the spool: %s run (%d files) ..." % (os.path.basename(args.tool), len(files)))
        made = subprocess.run([args.tool, "run", "--spool", spool] + files, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        if made.returncode not in (0, 2):
            raise SystemExit("`run` failed (exit %d): %s" % (made.returncode, made.stderr.strip()[-500:]))
        expected, kinds = spool_records(spool)
        spool_info = {"records": sum(expected.values()), "identify": kinds["identify"], "track": kinds["track"]}
        log("spool: %d accepted records (%d identifies, %d tracks)" % (
            spool_info["records"], kinds["identify"], kinds["track"]))
        results = collections.OrderedDict()
        index = 0
        for scenario in scenarios:
            results[scenario["name"]] = []
            for run in range(args.runs):
                index += 1
                r = replay_once(args, scenario, spool, expected, scratch, index)
                results[scenario["name"]].append(r)
                log("  %-30s run %d: %s, exit %s, %s acknowledged, lost %s, doubled %s" % (
                    scenario["name"], run + 1, "timeout" if r["exit_status"] == "timeout" else "%.2f s" % r["wall"],
                    r["exit_status"], fmt_int(acknowledged(r)), r["server"]["lost"], r["server"]["doubled"]))
    finally:
        if args.keep:
            log("kept %s" % scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"spool": spool_info, "events": args.events, "results": results}, f, indent=2)
    print(report(results, spool_info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
