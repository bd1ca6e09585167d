#!/usr/bin/env bash
# Reruns the benchmarks of docs/benchmarks.md on this machine and rewrites
# its results section and plots. Loopback only; every scenario is bounded.
#   bench/run.sh                 # full run (about ten minutes)
#   BENCH_QUICK=1 bench/run.sh   # a tenth of the load; prints, touches no doc
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

bash scripts/install-deps.sh --bench
cmake --preset release >/dev/null
cmake --build --preset release --target ssebridge-gateway ssebridge-bench ssebridge-microbench ssebridge-floor

out=$repo/build/release/bench-results
rm -rf "$out" && mkdir -p "$out"
source bench/common.sh
start_redis

# ssebridge with room for the floods of the throughput runs, and one with the
# default limits for the slow-client run.
# One thread each, as nginx runs one worker: the comparisons are core for core.
start_gateway gateway --threads 1 --max-sessions 30000 --max-queue 100000
start_gateway strict --threads 1 --max-sessions 30000
kafka=$(sed -n 's/^kafka.bootstrap=//p' "$out/gateway.out")

# nginx + nchan: one worker, messages in nginx's memory (its fastest setting).
nchan_port=$(free_port)
mkdir -p "$out/nchan"
sed -e "s|@DIR@|$out/nchan|g" -e "s|@PORT@|$nchan_port|" -e "s|@REDIS@|$redis|" -e "s|@STORAGE@||" \
  bench/nchan.conf.in > "$out/nchan/nginx.conf"
nginx -c "$out/nchan/nginx.conf" -p "$out/nchan" &
pids+=($!)
nchan_pid=$!
wait_http "http://127.0.0.1:$nchan_port/pub/probe"
# The same nginx with its messages through Redis, as ssebridge's go.
nchan_redis_port=$(free_port)
mkdir -p "$out/nchan-redis"
sed -e "s|@DIR@|$out/nchan-redis|g" -e "s|@PORT@|$nchan_redis_port|" -e "s|@REDIS@|$redis|" \
  -e "s|@STORAGE@|nchan_redis_pass redis_server;|" bench/nchan.conf.in > "$out/nchan-redis/nginx.conf"
nginx -c "$out/nchan-redis/nginx.conf" -p "$out/nchan-redis" &
pids+=($!)
nchan_redis_pid=$!
wait_http "http://127.0.0.1:$nchan_redis_port/pub/probe"

# The floor: the thinnest relay this machine can run (bench/floor.cpp).
floor_port=$(free_port)
build/release/bench/ssebridge-floor "$floor_port" "$redis_port" > "$out/floor.out" 2>&1 &
pids+=($!)
floor_pid=$!
for _ in $(seq 50); do grep -q listening "$out/floor.out" 2>/dev/null && break; sleep 0.1; done

bench() { build/release/bench/ssebridge-bench --redis "$redis" "$@"; }
ssebridge() { bench --target ssebridge --gateway "127.0.0.1:$gateway_port" --gateway-pid "$gateway_pid" "$@"; }
nchan() {
  bench --target sse --subscribe-url "http://127.0.0.1:$nchan_port/sub/{id}" \
    --publish-url "http://127.0.0.1:$nchan_port/pub/{id}" --gateway-pid "$nchan_pid" "$@"
}
nchan_redis() {
  bench --target sse --subscribe-url "http://127.0.0.1:$nchan_redis_port/sub/{id}" \
    --publish-url "http://127.0.0.1:$nchan_redis_port/pub/{id}" --gateway-pid "$nchan_redis_pid" "$@"
}
# Runs a bench command, recording the server's CPU seconds into the JSON.
measured() { # PID JSON COMMAND...
  local pid=$1 json=$2 before after
  shift 2
  local redis_before redis_after
  before=$(cpu_seconds "$pid")
  redis_before=$(cpu_seconds "$redis_pid")
  "$@" --json "$json"
  after=$(cpu_seconds "$pid")
  redis_after=$(cpu_seconds "$redis_pid")
  /usr/bin/python3 - "$json" "$before" "$after" "$redis_before" "$redis_after" <<'PY'
import json, sys
path, before, after, redis_before, redis_after = sys.argv[1], *map(float, sys.argv[2:])
r = json.load(open(path))
r["server_cpu_seconds"] = after - before
r["redis_cpu_seconds"] = redis_after - redis_before
json.dump(r, open(path, "w"))
PY
}

if [ -n "${BENCH_QUICK:-}" ]; then scale=10; else scale=1; fi
events_total=$((1000000 / scale))
seconds=$((10 / scale + 1))

idle=$((15000 / scale))
echo "== idle: $idle sessions held (first, while the servers are fresh)"
echo "$(rss_kib "$gateway_pid")" > "$out/idle-ssebridge.rss_before"
bench --target ssebridge --gateway "127.0.0.1:$gateway_port" --gateway-pid "$gateway_pid" --scenario idle --sessions $idle --duration 3 --json "$out/idle-ssebridge.json"
echo "$(rss_kib "$nchan_pid")" > "$out/idle-nchan.rss_before"
nchan --scenario idle --sessions $idle --duration 3 --json "$out/idle-nchan.json"
echo "== limit: one Redis subscriber connection, 1000 channels"
measured "$redis_pid" "$out/limit.json" bench --scenario limit --sessions 1000 --events $((events_total / 1000))
for i in 1 2 3; do
  echo "== limit latency ($i/3): the same path at 20000 events/s, the floor of this machine"
  measured "$redis_pid" "$out/limit-latency-$i.json" bench --scenario limit --sessions 1000 --rate 20000 \
    --events $((20000 * seconds / 1000))
done
for s in 100 1000 10000; do
  echo "== throughput: $s sessions"
  measured "$gateway_pid" "$out/throughput-ssebridge-$s.json" ssebridge --scenario throughput --sessions $s --events $((events_total / s))
  measured "$nchan_pid" "$out/throughput-nchan-$s.json" nchan --scenario throughput --sessions $s --events $((events_total / s))
done
echo "== throughput: the floor, 1000 sessions"
measured "$floor_pid" "$out/throughput-floor-1000.json" bench --target ssebridge --gateway "127.0.0.1:$floor_port" \
  --gateway-pid "$floor_pid" --scenario throughput --sessions 1000 --events $((events_total / 1000))
echo "== throughput: nchan with Redis, 1000 sessions (a smaller load: it is slow)"
measured "$nchan_redis_pid" "$out/throughput-nchan-redis-1000.json" nchan_redis --scenario throughput --sessions 1000 --events $((events_total / 1000 / 20))
# Latency runs three times each: this machine's scheduling noise moves the
# tail from run to run, and report.py shows the median run and the range.
# Pinned (with two cores or more): the server measured on core 0, Redis and
# the bench on core 1, so that p99 measures the server, not its neighbours.
pin() { # CORES PID...: every thread of each PID onto CORES
  local cores=$1
  shift
  if [ "$(nproc)" -ge 2 ]; then for pid in "$@"; do taskset -apc "$cores" "$pid" > /dev/null; done; fi
}
pinned() { if [ "$(nproc)" -ge 2 ]; then taskset -c 1 "$@"; else "$@"; fi; }
pin 1 "$redis_pid"
pin 0 "$gateway_pid" "$nchan_pid" "$floor_pid"
echo "pinned=$([ "$(nproc)" -ge 2 ] && echo yes || echo no)" > "$out/pinning"
for i in 1 2 3; do
  echo "== latency ($i/3): 20000 events/s over 1000 sessions for $seconds s (pinned)"
  measured "$gateway_pid" "$out/latency-ssebridge-$i.json" pinned build/release/bench/ssebridge-bench --redis "$redis" \
    --target ssebridge --gateway "127.0.0.1:$gateway_port" --gateway-pid "$gateway_pid" \
    --scenario latency --sessions 1000 --rate 20000 --duration $seconds
  measured "$nchan_pid" "$out/latency-nchan-$i.json" pinned build/release/bench/ssebridge-bench --redis "$redis" \
    --target sse --subscribe-url "http://127.0.0.1:$nchan_port/sub/{id}" \
    --publish-url "http://127.0.0.1:$nchan_port/pub/{id}" --gateway-pid "$nchan_pid" \
    --scenario latency --sessions 1000 --rate 20000 --duration $seconds
  measured "$floor_pid" "$out/latency-floor-$i.json" pinned build/release/bench/ssebridge-bench --redis "$redis" \
    --target ssebridge --gateway "127.0.0.1:$floor_port" --gateway-pid "$floor_pid" \
    --scenario latency --sessions 1000 --rate 20000 --duration $seconds
done
pin 0-$(($(nproc) - 1)) "$redis_pid" "$gateway_pid" "$nchan_pid" "$floor_pid"
for i in 1 2 3; do
  echo "== slow clients ($i/3): 10% of 1000 stop reading; 20000 events/s; default limits"
  measured "$strict_pid" "$out/slow-ssebridge-$i.json" bench --target ssebridge --gateway "127.0.0.1:$strict_port" \
    --gateway-pid "$strict_pid" --scenario slow --sessions 1000 --slow-share 0.1 --rate 20000 --duration $seconds
  measured "$nchan_pid" "$out/slow-nchan-$i.json" nchan --scenario slow --sessions 1000 --slow-share 0.1 --rate 20000 --duration $seconds
done
curl -s "http://127.0.0.1:$strict_port/metrics" > "$out/slow-ssebridge.metrics"
echo "== setup: sessions/s from POST to worker_ack, 500 clients"
measured "$gateway_pid" "$out/setup-ssebridge.json" ssebridge --scenario setup --sessions $((300000 / scale)) \
  --duration $seconds --concurrency 500 --kafka-brokers "$kafka"
echo "== the AI SDK profile: throughput, 1000 sessions, the seed's stream then the UI message stream"
for profile in seed ai-sdk; do
  measured "$gateway_pid" "$out/profile-$profile.json" ssebridge --scenario throughput --sessions 1000 \
    --events $((events_total / 1000 / 2)) --profile $profile
done
echo "== durable sessions: the cost of recording (1000 sessions: plain PUBLISH, XADD + PUBLISH pipelined, the workers' MULTI/EXEC)"
for mode in plain pair record; do
  measured "$gateway_pid" "$out/record-$mode.json" ssebridge --scenario throughput --sessions 1000 \
    --events $((events_total / 1000 / 2)) --publish "$mode"
done
echo "== durable sessions: resume (1000 sessions at 20000 events/s, 10% cut once at a random event and resumed)"
# By GET …/events (an EventSource), then by the same POST again (fetch-event-source).
for with in get post; do
  measured "$gateway_pid" "$out/resume-$with.json" ssebridge --scenario resume --sessions 1000 \
    --rate 20000 --events $((20000 * seconds / 1000)) --cut-share 0.1 --resume-with $with
done
echo "== durable sessions: cancel (sessions stopped mid-answer, a worker through the worker library)"
measured "$gateway_pid" "$out/cancel.json" ssebridge --scenario cancel --sessions $((1000 / scale)) \
  --concurrency 100 --kafka-brokers "$kafka"
echo "== the seed: the Python sse_driver.py ssebridge replaces (FastAPI + uvicorn + redis.asyncio + Kafka)"
seed_port=$(free_port)
/usr/bin/python3 bench/peers/sse_driver.py --port "$seed_port" --redis "$redis" --kafka-brokers "$kafka" \
  > "$out/seed.out" 2>&1 &
pids+=($!)
seed_pid=$!
wait_http "http://127.0.0.1:$seed_port/readyz"
seed() { bench --target ssebridge --gateway "127.0.0.1:$seed_port" --gateway-pid "$seed_pid" "$@"; }
# It holds a Redis connection per session: 5,000 is what the descriptors allow.
seed_idle=$((5000 / scale))
echo "$(rss_kib "$seed_pid")" > "$out/idle-seed.rss_before"
seed --scenario idle --sessions $seed_idle --duration 3 --json "$out/idle-seed.json"
measured "$seed_pid" "$out/throughput-seed-1000.json" seed --scenario throughput --sessions 1000 \
  --events $((events_total / 1000 / 20))
# Latency at a rate the seed sustains, for both.
measured "$seed_pid" "$out/latency-seed.json" seed --scenario latency --sessions 1000 --rate 2000 --duration $seconds
measured "$gateway_pid" "$out/latency-ssebridge-2000.json" ssebridge --scenario latency --sessions 1000 --rate 2000 \
  --duration $seconds
kill -TERM "$seed_pid" 2>/dev/null || true

echo "== microbenchmarks"
build/release/bench/ssebridge-microbench --benchmark_format=json --benchmark_min_time=0.2 \
  > "$out/micro.json" 2> /dev/null
if command -v perf >/dev/null 2>&1 && [ -z "${BENCH_QUICK:-}" ]; then
  echo "== CPU profile of the gateway during a throughput run"
  # Enough load to outlast the profile's window several times over, at any speed.
  ssebridge --scenario throughput --sessions 1000 --events 6000 > /dev/null &
  load=$!
  sleep 2
  perf record -q -e cpu-clock -g -p "$gateway_pid" -o "$out/perf.data" -- sleep 5 > /dev/null 2>&1 || true
  wait $load || true
  perf report -i "$out/perf.data" --no-children --sort dso --stdio 2> /dev/null > "$out/profile-dso.txt" || true
  perf report -i "$out/perf.data" --no-children --sort sym --stdio -g none 2> /dev/null > "$out/profile-sym.txt" || true
fi

plots=$out/plots
[ -z "${BENCH_QUICK:-}" ] && plots=$repo/docs/bench
/usr/bin/python3 bench/report.py "$out" "$plots" > "$out/results.md"
cat "$out/results.md"
if [ -z "${BENCH_QUICK:-}" ]; then
  splice_results results "$out/results.md"
  echo "docs/benchmarks.md and docs/bench/*.svg updated"
fi
