#!/usr/bin/env python3
"""`run` reading from S3 on loopback next to the same files on disk, in one session.

    python3 scripts/bench/s3_throughput.py                   # 1M clean events, 3 runs each
    python3 scripts/bench/s3_throughput.py --events 200000 --runs 3 --jobs 1 --jobs 2

The export is benchmark.py's (generated once, cached under .build/benchmark-data/). It is
put into a bucket of moto's S3 server (`pip install 'moto[server]'`) on 127.0.0.1, and
each command runs on a fresh spool, median of --runs:

- `pigz -dc FILES | wc -l`: the inflate floor the project's ratios are against;
- the bucket fetched whole by boto3 with as many threads as --jobs, bytes discarded:
  what this S3 server can serve here (moto is Python, so this bounds the S3 column);
- `nudge-ingest run FILES` (disk) and `nudge-ingest run s3://bench/segment-logs/` (S3),
  with the same --jobs: wall time, MB/s of compressed and uncompressed input, the ratio
  to pigz, and peak RSS (the S3 read holds at most about 1 MiB a reading thread).

It checks that both runs give the same counts, and prints a Markdown table.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import benchmark as bench  # noqa: E402  (the project's benchmark: data, timing, the build)

BUCKET = "bench"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_REGION": "us-east-1"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(files, root):
    """moto's server on a free port, holding `files` under their paths below `root`."""
    import boto3
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                      aws_secret_access_key="bench-secret")
    for _ in range(200):
        try:
            s3.create_bucket(Bucket=BUCKET)
            break
        except Exception:
            time.sleep(0.05)
    for path in files:
        with open(path, "rb") as f:
            s3.put_object(Bucket=BUCKET, Key=os.path.relpath(path, root), Body=f.read())
    return server, url


FETCH = """
import boto3, sys
from concurrent.futures import ThreadPoolExecutor
url, bucket, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                  aws_secret_access_key="bench-secret")
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
def fetch(key):
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    while body.read(1 << 20):
        pass
with ThreadPoolExecutor(threads) as pool:
    list(pool.map(fetch, keys))
"""


def run_summary(command, env):
    out = subprocess.run(command + ["--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_export_arguments(parser)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, action="append", help="run --jobs N (repeat; default: the cores)")
    parser.add_argument("--tool", help="measure this nudge-ingest binary instead of building one")
    args = parser.parse_args()
    bench.use_tool(args.tool)
    files = bench.export_files(args, 0.0)
    root = files[0].split("/segment-logs/")[0]
    compressed, uncompressed, lines = bench.sizes(files)
    bench.log("export: %d files, %.1f MB gzip, %.1f MB uncompressed, %d lines" %
              (len(files), compressed / 1e6, uncompressed / 1e6, lines))
    server, url = start_moto(files, root)
    env = dict(os.environ, **CREDENTIALS)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="nudge-s3-bench-", dir=os.path.join(bench.ROOT, ".build")) as scratch:
            spool = os.path.join(scratch, "spool")
            pigz = bench.measure("pigz -dc", bench.shell_pipeline("pigz -dc", files), args.runs)
            rows.append(("`pigz -dc` into `wc -l` (disk)", "", pigz))
            for jobs in args.jobs or [os.cpu_count()]:
                fetch = bench.measure("fetch %d" % jobs, [sys.executable, "-c", FETCH, url, BUCKET, str(jobs)], args.runs)
                rows.append(("boto3 fetch only, %d thread%s (S3)" % (jobs, "" if jobs == 1 else "s"), jobs, fetch))
                disk = [bench.TOOL, "run", "--spool", spool, "--jobs", str(jobs)] + files
                s3 = [bench.TOOL, "run", "--spool", spool, "--jobs", str(jobs), "--s3-endpoint", url,
                      "s3://%s/segment-logs/" % BUCKET]
                for label, command in (("disk", disk), ("S3", s3)):
                    measured = []
                    for i in range(args.runs):
                        subprocess.run(["rm", "-rf", spool], check=True)
                        os.sync()
                        measured.append(bench.timed(command, env=env))
                        bench.log("  %-8s --jobs %d run %d: %.2f s" % (label, jobs, i + 1, measured[-1][0]))
                    measured.sort(key=lambda r: r[0])
                    result = {"wall": measured[len(measured) // 2][0], "walls": [m[0] for m in measured],
                              "rss_kib": max(m[1] for m in measured)}
                    rows.append(("`nudge-ingest run` (%s)" % label, jobs, result))
                subprocess.run(["rm", "-rf", spool], check=True)
                disk_summary = run_summary(disk, env)
                subprocess.run(["rm", "-rf", spool], check=True)
                s3_summary = run_summary(s3, env)
                same = all(disk_summary[k] == s3_summary[k] for k in ("records", "accepted", "dropped", "reasons"))
                bench.log("  counts equal (disk, S3) for --jobs %d: %s; S3 requests %s" % (jobs, same, s3_summary["s3"]))
                if not same:
                    raise SystemExit("the S3 run's counts differ from the disk run's")
    finally:
        server.kill()
        server.wait()

    print("\n%d files, %.1f MB gzip, %.1f MB uncompressed, %d events; median of %d runs, `nproc` = %d\n" %
          (len(files), compressed / 1e6, uncompressed / 1e6, lines, args.runs, os.cpu_count()))
    print("| command | --jobs | wall s | MB/s gzip | MB/s uncompressed | × pigz | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for label, jobs, result in rows:
        wall = result["wall"]
        rss = "%.0f" % (result["rss_kib"] / 1024) if "rss_kib" in result and label.startswith("`nudge") else ""
        print("| %s | %s | %.2f | %.0f | %.0f | %.2f | %s |" % (
            label, jobs, wall, compressed / 1e6 / wall, uncompressed / 1e6 / wall, wall / pigz["wall"], rss))


if __name__ == "__main__":
    main()
