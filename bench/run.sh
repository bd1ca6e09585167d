#!/usr/bin/env bash
# Reruns the benchmarks of docs/benchmarks.md on this machine and rewrites
# its results section. Loopback only; every scenario is bounded.
#   bench/run.sh            # full run (a few minutes)
#   BENCH_QUICK=1 bench/run.sh   # smaller loads, for a smoke test
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target ssebridge-gateway ssebridge-bench

out=$(pwd)/build/release/bench-results
rm -rf "$out" && mkdir -p "$out"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$out" --logfile "$out/redis.log" &
pids+=($!)
redis="redis://127.0.0.1:$redis_port"
sleep 0.3

gateway_port=$(free_port)
build/release/app/ssebridge-gateway --listen "127.0.0.1:$gateway_port" --redis "$redis" \
  --max-sessions 30000 --max-queue 100000 --log-level warn > "$out/gateway.out" &
gateway_pid=$!
pids+=($gateway_pid)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$gateway_port/healthz" >/dev/null && break; sleep 0.1; done

bench() { build/release/bench/ssebridge-bench --redis "$redis" --gateway "127.0.0.1:$gateway_port" "$@"; }

if [ -n "${BENCH_QUICK:-}" ]; then scale=10; else scale=1; fi
sessions=1000
events=$((1000 / scale))
idle_sessions=$((15000 / scale))

echo "== limit: one Redis subscriber connection, $sessions channels x $events events"
bench --scenario limit --sessions $sessions --events $events --json "$out/limit.json"
echo "== throughput: $sessions sessions x $events events through ssebridge"
bench --scenario throughput --sessions $sessions --events $events --json "$out/throughput.json"
echo "== latency: 20000 events/s over $sessions sessions for $((10 / scale + 1)) s"
bench --scenario latency --sessions $sessions --rate 20000 --duration $((10 / scale + 1)) --json "$out/latency.json"
echo "== idle: $idle_sessions sessions held"
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$gateway_pid/status)
bench --scenario idle --sessions $idle_sessions --duration 3 --gateway-pid $gateway_pid --json "$out/idle.json"
echo "$rss_before" > "$out/rss_before_kib"

/usr/bin/python3 bench/report.py "$out" "$idle_sessions" > "$out/results.md"
cat "$out/results.md"
if [ -z "${BENCH_QUICK:-}" ]; then
  /usr/bin/python3 - "$out/results.md" <<'PY'
import re, sys
results = open(sys.argv[1]).read()
doc = open("docs/benchmarks.md").read()
start, end = "<!-- results:start -->", "<!-- results:end -->"
doc = re.sub(re.escape(start) + ".*?" + re.escape(end), start + "\n" + results + end, doc, flags=re.S)
open("docs/benchmarks.md", "w").write(doc)
PY
  echo "docs/benchmarks.md updated"
fi
