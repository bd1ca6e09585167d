#!/usr/bin/env bash
# A/B of two gateway builds in one run, for a change that must not cost:
# RSS per idle session and throughput at 1,000 sessions, each build measured
# twice, alternating, against the same redis-server (this machine's host
# moves by up to 40 % between runs; a ratio within one run holds).
#   bench/ab.sh BASE_GATEWAY [IDLE_SESSIONS]
# BASE_GATEWAY: the other build's ssebridge-gateway (e.g. a `git worktree` of
# the base commit, built with `cmake --build --preset release`). The
# candidate is this tree's build/release. Prints a table; touches no doc.
set -euo pipefail
cd "$(dirname "$0")/.."
base_binary=$(realpath "$1")
idle=${2:-15000}
cmake --build --preset release --target ssebridge-gateway ssebridge-bench >/dev/null

out=$(mktemp -d)
source bench/common.sh
start_redis
bench() { build/release/bench/ssebridge-bench --redis "$redis" "$@"; }

# measure NAME BINARY ROUND: one fresh gateway, its idle RSS then its throughput.
measure() {
  local name=$1 binary=$2 round=$3 port pid before
  port=$(free_port)
  "$binary" --listen "127.0.0.1:$port" --redis "$redis" --log-level warn --threads 1 \
    --max-sessions 30000 --max-queue 100000 > "$out/$name-$round.out" 2>&1 &
  pid=$!
  wait_http "http://127.0.0.1:$port/readyz"
  before=$(rss_kib "$pid")
  bench --target ssebridge --gateway "127.0.0.1:$port" --gateway-pid "$pid" --scenario idle \
    --sessions "$idle" --duration 3 --json "$out/idle-$name-$round.json" >/dev/null
  echo "$before" > "$out/idle-$name-$round.before"
  local cpu_before cpu_after
  cpu_before=$(cpu_seconds "$pid")
  bench --target ssebridge --gateway "127.0.0.1:$port" --gateway-pid "$pid" --scenario throughput \
    --sessions 1000 --events 1000 --json "$out/tp-$name-$round.json" >/dev/null
  cpu_after=$(cpu_seconds "$pid")
  echo "$cpu_before $cpu_after" > "$out/tp-$name-$round.cpu"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
}

for round in 1 2; do
  measure base "$base_binary" "$round"
  measure candidate build/release/app/ssebridge-gateway "$round"
done

/usr/bin/python3 - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
def row(name, round):
    idle = json.loads((out / f"idle-{name}-{round}.json").read_text())
    before = int((out / f"idle-{name}-{round}.before").read_text())
    tp = json.loads((out / f"tp-{name}-{round}.json").read_text())
    cpu0, cpu1 = map(float, (out / f"tp-{name}-{round}.cpu").read_text().split())
    kib = (idle["gateway_rss_kib"] - before) / idle["sessions"]
    return kib, tp["events_per_second"], (cpu1 - cpu0) * 1e6 / max(tp["delivered"], 1)
print("| round | build | KiB per idle session | events/s, 1,000 sessions | gateway CPU µs per event |")
print("| --- | --- | --- | --- | --- |")
rows = {}
for round in (1, 2):
    for name in ("base", "candidate"):
        rows[name, round] = r = row(name, round)
        print(f"| {round} | {name} | {r[0]:.2f} | {r[1]:,.0f} | {r[2]:.2f} |")
for round in (1, 2):
    b, c = rows["base", round], rows["candidate", round]
    print(f"\nround {round}: candidate / base: idle {c[0] / b[0]:.2f}×, "
          f"throughput {c[1] / b[1]:.2f}×, CPU per event {c[2] / b[2]:.2f}×")
PY
rm -rf "$out"
