#!/usr/bin/env python3
"""Load on `nudge-ingest serve`: GET /v1/drops?limit=200 at a fixed rate, latency percentiles.

    python3 scripts/bench/serve_load.py                        # 2M dirty events, 200 requests/s
    python3 scripts/bench/serve_load.py --events 200000 --rate 100 --seconds 10

The export is benchmark.py's (generated once, cached under .build/benchmark-data/),
dirty (10% bad lines, every drop reason), run into a fresh spool by the release build.
Then `serve` (release build) is started on 127.0.0.1 with a live key, and:

1. every dropped record is paged through once, `limit=200`, following `next_cursor`
   (each record must come once): the cursors of every page are kept;
2. for each mix, requests are sent open loop at --rate a second for --seconds: request
   i is due at start + i/rate whatever the answers before it, and its latency counts
   from when it was due, so a slow server is not hidden by a client that waits
   (coordinated omission). A pool of threads with keep-alive connections sends them.
   Mixes: `first` (the first page), `random` (a page at a random cursor), `desc` (the
   first page newest first), `reason` (pages of `reason=not_identified` at random
   cursors of that filter);
3. the server's RSS before and after, and its peak (VmHWM).

It prints a Markdown table. The client runs on the same machine: on 2 cores it takes
CPU from the server, so the figures are an upper bound on the latency.
"""
import argparse
import http.client
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import benchmark as bench  # noqa: E402


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^%s:\s+(\d+)" % field, f.read(), re.M).group(1))


class Client:
    """Keep-alive connections, one a thread."""

    def __init__(self, port, key):
        self.port, self.key = port, key
        self.local = threading.local()

    def get(self, path):
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", path, headers={"Authorization": "Bearer " + self.key})
            response = connection.getresponse()
            return response.status, response.read()
        except (http.client.HTTPException, OSError):
            self.local.connection = None
            raise


def page_through(client, query):
    """Every page of `query`: the cursors that start each page, and the records seen."""
    cursors, ids, cursor = [None], [], None
    while True:
        path = "/v1/drops?limit=200" + query + ("&cursor=" + urllib.parse.quote(cursor, safe="") if cursor else "")
        status, body = client.get(path)
        if status != 200:
            raise SystemExit("%s: HTTP %d %s" % (path, status, body[:200]))
        page = json.loads(body)
        ids += [record["id"] for record in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return cursors, ids
        cursors.append(cursor)


def load(client, paths, rate, seconds, threads=32):
    """Open loop: request i due at start + i/rate; latency from when it was due."""
    total = int(rate * seconds)
    latencies, errors = [], []
    lock = threading.Lock()
    next_index = [0]
    start = time.perf_counter() + 0.5

    def worker():
        while True:
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= total:
                return
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                status, _ = client.get(paths[index % len(paths)])
                ok = status == 200
            except Exception as error:  # noqa: BLE001 (any failure is counted)
                ok, status = False, str(error)
            took = time.perf_counter() - due
            with lock:
                latencies.append(took)
                if not ok:
                    errors.append(status)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {"requests": total, "achieved_rate": total / elapsed, "p50": pct(50), "p90": pct(90), "p99": pct(99),
            "max": latencies[-1] * 1000, "errors": len(errors)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_export_arguments(parser)
    parser.set_defaults(events=2_000_000, files=16, days=8, users=100_000, seed=2)
    parser.add_argument("--rate", type=float, default=200, help="requests a second (default 200)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--tool", help="measure this nudge-ingest binary instead of building one")
    args = parser.parse_args()
    bench.use_tool(args.tool)
    files = bench.export_files(args, 0.1)
    with tempfile.TemporaryDirectory(prefix="nudge-serve-bench-", dir=os.path.join(bench.ROOT, ".build")) as scratch:
        spool = os.path.join(scratch, "spool")
        started = time.perf_counter()
        run = subprocess.run([bench.TOOL, "run", "--spool", spool, "--json"] + files, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        summary = json.loads(run.stdout)
        bench.log("run: %d records, %d dropped, in %.1f s" % (summary["records"], summary["dropped"],
                                                                time.perf_counter() - started))
        key = subprocess.run([bench.TOOL, "keys", "create", "--spool", spool, "--live"], check=True,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
        log = open(os.path.join(scratch, "serve.log"), "w+")
        server = subprocess.Popen([bench.TOOL, "serve", "--spool", spool, "--listen", "127.0.0.1:0"], stderr=log)
        try:
            port = None
            for _ in range(200):
                time.sleep(0.05)
                log.seek(0)
                found = re.search(r"on http://127\.0\.0\.1:(\d+)/", log.read())
                if found:
                    port = int(found.group(1))
                    break
            if port is None:
                raise SystemExit("serve did not start")
            client = Client(port, key)
            rss_before = status_kib(server.pid, "VmRSS")
            started = time.perf_counter()
            cursors, ids = page_through(client, "")
            paging = time.perf_counter() - started
            if len(ids) != len(set(ids)) or len(ids) != summary["dropped"] + summary["corrupt_inputs"]:
                raise SystemExit("paging gave %d ids (%d distinct) for %d dropped records" %
                                 (len(ids), len(set(ids)), summary["dropped"]))
            bench.log("paged through %d records in %d pages: %.1f s (%.1f ms a page)" %
                      (len(ids), len(cursors), paging, paging * 1000 / len(cursors)))
            # The whole-spool answers: the report (every dropped file read once, then kept
            # until the next commit) and the dashboard (the report, drawn).
            whole = {}
            for path in ["/v1/report", "/"]:
                times = []
                for _ in range(5):
                    started = time.perf_counter()
                    status, _ = client.get(path)
                    if status != 200:
                        raise SystemExit("GET %s: %d" % (path, status))
                    times.append((time.perf_counter() - started) * 1000)
                whole[path] = (times[0], sorted(times[1:])[2])
                bench.log("GET %s: first %.0f ms, then %.0f ms (median of 4)" % ((path,) + whole[path]))
            reason_cursors, _ = page_through(client, "&reason=not_identified")
            random.seed(1)
            mixes = {
                "first": ["/v1/drops?limit=200"],
                "random": ["/v1/drops?limit=200" + ("&cursor=" + urllib.parse.quote(c, safe="") if c else "")
                           for c in random.sample(cursors, min(len(cursors), 2000))],
                "desc": ["/v1/drops?limit=200&order=desc"],
                "reason": ["/v1/drops?limit=200&reason=not_identified" +
                           ("&cursor=" + urllib.parse.quote(c, safe="") if c else "")
                           for c in random.sample(reason_cursors, min(len(reason_cursors), 2000))],
            }
            results = {}
            for name, paths in mixes.items():
                random.shuffle(paths)
                results[name] = load(client, paths, args.rate, args.seconds)
                bench.log("  %-7s %s" % (name, results[name]))
            rss_after, peak = status_kib(server.pid, "VmRSS"), status_kib(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait()
    print("\n%d events, %d dropped records (%d pages of 200); %.0f requests/s for %.0f s each, open loop; "
          "`nproc` = %d (client and server share them)\n" % (summary["records"], len(ids), len(cursors),
                                                             args.rate, args.seconds, os.cpu_count()))
    print("| mix | requests | achieved/s | p50 ms | p90 ms | p99 ms | max ms | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print("| %s | %d | %.0f | %.1f | %.1f | %.1f | %.1f | %d |" % (
            name, r["requests"], r["achieved_rate"], r["p50"], r["p90"], r["p99"], r["max"], r["errors"]))
    print("\nPaging through every record once: %.1f s, %.1f ms a page. Server RSS: %.0f MiB before, %.0f MiB after, "
          "peak %.0f MiB." % (paging, paging * 1000 / len(cursors), rss_before / 1024, rss_after / 1024, peak / 1024))
    print("GET /v1/report: %.0f ms the first time, then %.0f ms; GET / (the dashboard): %.0f ms, then %.0f ms "
          "(medians of 4, one at a time)." % (whole["/v1/report"] + whole["/"]))


if __name__ == "__main__":
    main()
