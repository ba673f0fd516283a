#!/usr/bin/env bash
# Measures `nudge-ingest run` (release build) on an export next to gzip -dc and
# pigz -dc on the same files: median wall time of N runs, events/s, MB/s, peak RSS.
#   scripts/measure.sh EXPORT_DIR [RUNS]
# Make an export with: python3 scripts/generate_export.py --out /tmp/export --events 1000000 --files 8
set -euo pipefail
export_dir=$1; runs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
swift build -c release --package-path "$root" >/dev/null
tool="$root/.build/release/nudge-ingest"
mapfile -t files < <(find "$export_dir" -type f -name '*.gz' | LC_ALL=C sort)
gz_bytes=$(cat "${files[@]}" | wc -c)
raw_bytes=$(gzip -dc "${files[@]}" | wc -c)
events=$(gzip -dc "${files[@]}" | wc -l)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() {  # label, command...
  local label=$1; shift
  for _ in $(seq "$runs"); do
    rm -rf "$scratch/spool"
    /usr/bin/time -f "%e %M" -o "$scratch/time" "$@" >/dev/null 2>&1 || true
    cat "$scratch/time"
  done > "$scratch/$label"
  local wall rss
  wall=$(cut -d' ' -f1 "$scratch/$label" | median)
  rss=$(cut -d' ' -f2 "$scratch/$label" | sort -n | tail -1)
  awk -v l="$label" -v w="$wall" -v r="$rss" -v e="$events" -v g="$gz_bytes" -v u="$raw_bytes" 'BEGIN {
    printf "%-22s %7.2f s %10.0f events/s %8.1f MB/s gz %8.1f MB/s raw %7.1f MiB peak\n",
      l, w, e / w, g / w / 1e6, u / w / 1e6, r / 1024 }'
  echo "$wall" > "$scratch/$label.median"
}

echo "export: ${#files[@]} files, $events events, $((gz_bytes / 1000000)) MB gzip, $((raw_bytes / 1000000)) MB uncompressed"
measure "gzip -dc" sh -c 'gzip -dc "$@" > /dev/null' _ "${files[@]}"
command -v pigz >/dev/null && measure "pigz -dc" sh -c 'pigz -dc "$@" > /dev/null' _ "${files[@]}"
measure "nudge-ingest run" "$tool" run --spool "$scratch/spool" "${files[@]}"
awk -v a="$(cat "$scratch/nudge-ingest run.median")" -v b="$(cat "$scratch/gzip -dc.median")" \
  'BEGIN { printf "nudge-ingest run / gzip -dc: %.2fx\n", a / b }'
if [ -f "$scratch/pigz -dc.median" ]; then
  awk -v a="$(cat "$scratch/nudge-ingest run.median")" -v b="$(cat "$scratch/pigz -dc.median")" \
    'BEGIN { printf "nudge-ingest run / pigz -dc: %.2fx\n", a / b }'
fi
