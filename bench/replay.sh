#!/usr/bin/env bash
# Replays probed as an attacker would (issue 21), in one run, and written to
# docs/benchmarks.md (between its replay markers):
# - stalled readers of a log of 200 events of 50 KB: the gateway's RSS per
#   reader while they stall (goal: at most 2 MB each), and after the cut;
# - ssebridge-bench --scenario storm: 100 live sessions at 2,000 events/s
#   alone, then beside 500 readers replaying a 10,000-entry log again and
#   again; the live p99 during the storm against the one without it, in one
#   run (goal: at most 5x), twice.
#   bench/replay.sh [--no-write]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --build --preset release --target ssebridge-gateway ssebridge-bench >/dev/null
out=$(mktemp -d)
source bench/common.sh
start_redis
start_gateway gw --threads 1 --write-timeout 5 --max-sessions 30000 --max-queue 100000
probe() { /usr/bin/python3 bench/replay_probe.py "$1" --gateway "127.0.0.1:$gw_port" \
  --redis-port "$redis_port" --gateway-pid "$gw_pid" "${@:2}"; }
for readers in 20 100; do
  echo "== stall: $readers readers of 200 x 50 KB events stop reading"
  probe stall --readers "$readers" --events 200 --size 51200 --seconds 4 > "$out/stall-$readers.json"
  sleep 6 # past --write-timeout: every stalled reader is cut
done
for round in 1 2; do
  echo "== storm round $round: live sessions alone, then beside 500 readers replaying a log"
  build/release/bench/ssebridge-bench --redis "$redis" --target ssebridge --gateway "127.0.0.1:$gw_port" \
    --gateway-pid "$gw_pid" --scenario storm --sessions 100 --rate 2000 --duration 8 \
    --storm-readers 500 --storm-events 10000 --json "$out/storm-$round.json" >/dev/null
done

/usr/bin/python3 - "$out" > "$out/results.md" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
load = lambda name: json.loads((out / name).read_text())
print("| stalled readers (200 events of 50 KB each) | gateway RSS before | peak while they stall | per reader | after they were cut |")
print("| --- | --- | --- | --- | --- |")
for n in (20, 100):
    s = load(f"stall-{n}.json")
    print(f"| {n} | {s['rss_kib_before'] / 1024:.1f} MiB | {s['rss_kib_peak'] / 1024:.1f} MiB "
          f"| {s['kib_per_reader']:.0f} KiB | {s['rss_kib_after'] / 1024:.1f} MiB |")
print()
print("| round | live p50 / p99 alone | live p50 / p99 during the storm | p99 ratio | replayed during the storm (500 readers) |")
print("| --- | --- | --- | --- | --- |")
for r in (1, 2):
    s = load(f"storm-{r}.json")
    st, lat = s["storm"], s["latency_us"]
    print(f"| {r} | {st['live_p50_us_alone'] / 1000:.2f} / {st['live_p99_us_alone'] / 1000:.2f} ms "
          f"| {lat['p50'] / 1000:.2f} / {lat['p99'] / 1000:.2f} ms | {st['live_p99_ratio']:.2f}× "
          f"| {st['megabytes_read']:,.0f} MB in {st['seconds']:.0f} s, {st['replays']} replays whole |")
PY
cat "$out/results.md"
if [ "${1:-}" != "--no-write" ]; then splice_results replay "$out/results.md"; fi
