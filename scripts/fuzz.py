#!/usr/bin/env python3
"""Builds the libFuzzer targets in Fuzz/ and runs each for a bounded time.

    python3 scripts/fuzz.py                         # every target, 60 s each
    python3 scripts/fuzz.py --seconds 3600 scan-decide
    python3 scripts/fuzz.py --replay-only           # only the seeds and regressions

Targets are built with `swiftc -sanitize=fuzzer,address` (the library once, then one
binary per target) under .build/fuzz/. Each run starts from a seed corpus made here
from the bundled sample export, Segment's published examples (checked in under
Tests/Fixtures/) and Fuzz/Seeds/, plus every input in
Fuzz/Regressions/<target>/, and keeps what it learns in .build/fuzz/corpus/<target>/,
so longer or repeated runs go on from where the last one stopped. An input that
crashes a target or breaks one of its properties is saved under
.build/fuzz/findings/<target>/; the script then exits 1.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".build" / "fuzz"
SEGMENT_EXAMPLES = ROOT / "Tests" / "Fixtures"

TARGETS = {
    # name: (source file, max input length)
    "scan-decide": ("ScanDecide.swift", 8192),
    "gzip-reader": ("GzipReader.swift", 16384),
    "timestamp": ("TimestampParser.swift", 64),
    "writer-round-trip": ("WriterRoundTrip.swift", 4096),
    "spool-record": ("SpoolRecordReader.swift", 8192),
}

SANITIZE = "-sanitize=fuzzer,address"


def sources(folder):
    return sorted(str(p) for p in folder.rglob("*.swift"))


def fingerprint(paths):
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.encode())
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def swiftc(arguments):
    result = subprocess.run(["swiftc", *arguments], capture_output=True, text=True)
    # The gold linker warns about every sanitizer symbol it cannot export; noise.
    noise = re.compile(r"ld\.gold: warning: Cannot export local symbol")
    for line in (result.stdout + result.stderr).splitlines():
        if not noise.search(line):
            print(line, file=sys.stderr)
    if result.returncode != 0:
        sys.exit(f"swiftc failed ({result.returncode})")


def build(names):
    """Builds the library once and each named target, skipping what is up to date."""
    build_dir = WORK / "bin"
    build_dir.mkdir(parents=True, exist_ok=True)
    # The library's modules, each on those before it (Package.swift's graph).
    modules = ["NudgeCore", "NudgeSystem", "NudgeSpool", "NudgeIngest"]
    module_sources = {name: sources(ROOT / "Sources" / name) for name in modules}
    library_sources = [source for name in modules for source in module_sources[name]]
    support = sources(ROOT / "Fuzz" / "Support")
    # The C targets (CBytes: libc's byte search for the core; CIsal: the optional ISA-L
    # shims; CLinux: calls Glibc's module leaves out), compiled with the toolchain's clang.
    c_targets = [ROOT / "Sources" / name for name in ("CBytes", "CIsal", "CLinux")]
    c_sources = sorted(str(p) for target in c_targets for p in target.rglob("*")
                       if p.suffix in (".c", ".h", ".modulemap"))
    include = ["-I", str(ROOT / "Sources" / "CZlib")]
    for target in c_targets:
        include += ["-I", str(target / "include")]

    libraries = [build_dir / f"lib{name}.a" for name in modules]
    # (Linked in the reverse order: a static library must come before those it uses.)
    shims = [build_dir / (target.name + ".o") for target in c_targets]
    stamp = build_dir / "library.stamp"
    library_key = fingerprint(library_sources + c_sources)
    if not all(library.exists() for library in libraries) or not all(s.exists() for s in shims) or not stamp.exists() \
            or stamp.read_text() != library_key:
        print("building the library for fuzzing…", file=sys.stderr)
        started = time.monotonic()
        clang = shutil.which("clang") or str(Path(shutil.which("swiftc")).resolve().parent / "clang")
        for target, shim in zip(c_targets, shims):
            for source in sorted(target.glob("*.c")):
                result = subprocess.run([clang, "-c", "-O2", "-fsanitize=fuzzer-no-link,address",
                                         "-I", str(target / "include"), str(source), "-o", str(shim)],
                                        capture_output=True, text=True)
                if result.returncode != 0:
                    sys.exit(f"clang failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        for name, library in zip(modules, libraries):
            swiftc(["-emit-library", "-static", "-module-name", name, "-emit-module",
                    "-emit-module-path", str(build_dir / f"{name}.swiftmodule"), "-parse-as-library",
                    "-O", "-wmo", "-enable-testing", "-package-name", "nudge_ingest", SANITIZE,
                    "-I", str(build_dir), *include, *module_sources[name], "-o", str(library)])
        stamp.write_text(library_key)
        print(f"  {time.monotonic() - started:.0f} s", file=sys.stderr)

    binaries = {}
    for name in names:
        target_sources = support + [str(ROOT / "Fuzz" / "Targets" / TARGETS[name][0])]
        binary = build_dir / f"fuzz-{name}"
        binary_stamp = build_dir / f"fuzz-{name}.stamp"
        key = library_key + fingerprint(target_sources)
        if not binary.exists() or not binary_stamp.exists() or binary_stamp.read_text() != key:
            print(f"building fuzz-{name}…", file=sys.stderr)
            swiftc(["-parse-as-library", "-O", "-package-name", "nudge_ingest", SANITIZE, "-I", str(build_dir),
                    *include, *target_sources, *map(str, reversed(libraries)), *map(str, shims), "-lz",
                    "-o", str(binary)])
            binary_stamp.write_text(key)
        binaries[name] = binary
    return binaries


# Seeds ----------------------------------------------------------------------------------

def sample_streams():
    """The decompressed files of the bundled sample export (as far as each inflates:
    the sample holds a truncated file on purpose)."""
    for path in sorted((ROOT / "samples").rglob("*.gz")):
        data, stream = path.read_bytes(), b""
        while data:
            inflater = zlib.decompressobj(31)
            try:
                stream += inflater.decompress(data)
            except zlib.error:
                break
            data = inflater.unused_data
            if not inflater.eof:
                break
        yield path, stream


def corpus_lines():
    lines = []
    for path in sorted(SEGMENT_EXAMPLES.glob("*.ndjson")):
        lines += [line for line in path.read_bytes().split(b"\n") if line.strip()]
    for _, stream in sample_streams():
        lines += [line for line in stream.split(b"\n") if line.strip()]
    nasty = (ROOT / "Fuzz" / "Seeds" / "nasty-lines.ndjson").read_bytes().split(b"\n")
    return lines, [line for line in nasty if line]


def gzip_member(data, level=6):
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


def seeds_for(name):
    lines, nasty = corpus_lines()
    if name == "scan-decide":
        seeds = lines + nasty
        # Whole streams, so identifies and tracks meet in one input.
        seeds += [stream[:8000] for _, stream in sample_streams()]
        seeds.append(b"\r\n".join(nasty[:12]) + b"\r\n")
        return seeds
    if name == "writer-round-trip":
        objects = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            for key in ("properties", "traits", "context"):
                if isinstance(event.get(key), dict):
                    objects.append(json.dumps(event[key], ensure_ascii=False).encode("utf-8", "surrogatepass"))
        return lines + nasty + objects
    if name == "spool-record":
        # Dropped-spool lines of every reason, and event lines (as a string's contents).
        dropped = (ROOT / "Fuzz" / "Seeds" / "dropped-records.ndjson").read_bytes().split(b"\n")
        return [line for line in dropped if line] + lines[:200] + nasty
    if name == "timestamp":
        found = set()
        for line in lines + nasty:
            found.update(re.findall(rb'"(\d{4}-\d\d-\d\d[Tt][^"]{8,40})"', line))
        return sorted(found) + [t for t in (ROOT / "Fuzz" / "Seeds" / "timestamps.txt").read_bytes().split(b"\n") if t]
    if name == "gzip-reader":
        stream = b"\n".join(lines[:40]) + b"\n"
        member = gzip_member(stream)
        seeds = [path.read_bytes() for path in sorted((ROOT / "samples").rglob("*.gz"))]
        seeds += [
            member,
            gzip_member(stream[:500], 1) + gzip_member(stream[500:1200], 9),  # two members
            member[: len(member) // 2],  # truncated
            member + b"garbage",
            member + b"\x1f",  # half a magic number
            gzip_member(b""),
            gzip_member(b"\x00" * 100000, 9),
            stream[:2000],  # plain
            b"\x1f",
        ]
        return seeds
    raise ValueError(name)


def prepare_seeds(name):
    folder = WORK / "seeds" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    max_len = TARGETS[name][1]
    for seed in seeds_for(name):
        seed = seed[:max_len]
        (folder / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    regressions = ROOT / "Fuzz" / "Regressions" / name
    return folder, regressions


# Runs -----------------------------------------------------------------------------------

def run_target(name, binary, seconds, replay_only):
    seeds, regressions = prepare_seeds(name)
    corpus = WORK / "corpus" / name
    findings = WORK / "findings" / name
    corpus.mkdir(parents=True, exist_ok=True)
    findings.mkdir(parents=True, exist_ok=True)
    log = WORK / f"{name}.log"
    common = [f"-max_len={TARGETS[name][1]}", f"-dict={ROOT / 'Fuzz' / 'json.dict'}", "-timeout=20",
              "-rss_limit_mb=2560", f"-artifact_prefix={findings}/", "-print_final_stats=1"]
    # The Swift runtime's own crash backtracer would hold the crash up; libFuzzer reports it.
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1", SWIFT_BACKTRACE="enable=no")

    # Every seed and every past finding, once: they must pass before any new search.
    replay_inputs = [str(p) for folder in (seeds, regressions) if folder.exists() for p in sorted(folder.iterdir())]
    started = time.monotonic()
    replay = subprocess.run([str(binary), *common, *replay_inputs], capture_output=True, text=True, env=env)
    if replay.returncode != 0:
        log.write_text(replay.stdout + replay.stderr)
        return {"target": name, "status": "failed on a seed or regression", "log": str(log)}
    result = {"target": name, "replayed": len(replay_inputs)}
    if replay_only:
        result.update(status="ok", executions=len(replay_inputs), seconds=round(time.monotonic() - started, 1))
        return result

    known = set(findings.iterdir())
    search = subprocess.run(
        [str(binary), *common, f"-max_total_time={seconds}", str(corpus), str(seeds)],
        capture_output=True, text=True, env=env)
    log.write_text(search.stdout + search.stderr)
    stats = dict(re.findall(r"stat::(\w+):\s+(\d+)", search.stderr))
    executions = int(stats.get("number_of_executed_units", 0))
    elapsed = max(time.monotonic() - started, 1e-9)
    result.update(
        executions=executions,
        per_second=int(stats.get("average_exec_per_sec", 0)),
        coverage=coverage(search.stderr),
        corpus=len(list(corpus.iterdir())),
        seconds=round(elapsed, 1),
        status="ok" if search.returncode == 0 else "FINDING",
    )
    if search.returncode != 0:
        result["log"] = str(log)
        result["findings"] = [str(p) for p in findings.iterdir() if p not in known]
    return result


def coverage(output):
    found = re.findall(r"\bcov: (\d+)", output)
    return int(found[-1]) if found else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help=f"targets to run (default: all of {', '.join(TARGETS)})")
    parser.add_argument("--seconds", type=int, default=60, help="search time per target (default 60)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="targets run at once (default: CPUs)")
    parser.add_argument("--replay-only", action="store_true", help="run the seeds and regressions only, no search")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    arguments = parser.parse_args()
    names = arguments.targets or list(TARGETS)
    unknown = [name for name in names if name not in TARGETS]
    if unknown:
        parser.error(f"unknown target {', '.join(unknown)}; the targets are {', '.join(TARGETS)}")

    binaries = build(names)
    with ThreadPoolExecutor(max_workers=max(arguments.jobs, 1)) as pool:
        results = list(pool.map(
            lambda name: run_target(name, binaries[name], arguments.seconds, arguments.replay_only), names))

    print(f"{'target':<20} {'status':<10} {'executions':>12} {'exec/s':>8} {'coverage':>9} {'corpus':>7}")
    for r in results:
        print(f"{r['target']:<20} {r['status']:<10} {r.get('executions', 0):>12,} {r.get('per_second', 0):>8,} "
              f"{r.get('coverage') or '-':>9} {r.get('corpus', '-'):>7}")
        if r["status"] != "ok":
            print(f"  log: {r.get('log')}")
            for finding in r.get("findings", []):
                print(f"  finding: {finding}")
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(results, indent=2) + "\n")
    sys.exit(0 if all(r["status"] == "ok" for r in results) else 1)


if __name__ == "__main__":
    main()
