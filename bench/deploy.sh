#!/usr/bin/env bash
# Deployment shapes: the throughput and latency runs of bench/run.sh against
#   - one gateway on one Redis server (the shape of bench/run.sh),
#   - one gateway, then two, on a 3-master Redis Cluster (sharded Pub/Sub),
#   - the nginx front of deploy/nginx in front of the two gateways,
# and rewrites the deployment section of docs/benchmarks.md.
# The front is measured over HTTP/1.1 without TLS (ssebridge-bench speaks no
# TLS): what it costs to proxy every frame, not the cost of encryption.
#   bench/deploy.sh                 # about five minutes
#   BENCH_QUICK=1 bench/deploy.sh   # a tenth of the load; prints, touches no doc
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

bash scripts/install-deps.sh --bench
cmake --preset release >/dev/null
cmake --build --preset release --target ssebridge-gateway ssebridge-bench

out=$repo/build/release/deploy-results
rm -rf "$out" && mkdir -p "$out"
source bench/common.sh
start_redis

# Three masters, no replicas (nothing fails over here).
cluster="" cluster_ports=() cluster_pids=()
for i in 1 2 3; do
  port=$(free_port) bus=$(free_port)
  mkdir -p "$out/cluster-$i"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-port "$bus" \
    --cluster-config-file "$out/cluster-$i/nodes.conf" --save '' --appendonly no \
    --dir "$out/cluster-$i" --logfile "$out/cluster-$i/redis.log" &
  pids+=($!) cluster_pids+=($!) cluster_ports+=("$port")
  cluster="${cluster:+$cluster,}127.0.0.1:$port"
done
for port in "${cluster_ports[@]}"; do
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
redis-cli --cluster create ${cluster//,/ } --cluster-yes > "$out/cluster-create.log"
for port in "${cluster_ports[@]}"; do
  for _ in $(seq 100); do
    redis-cli -p "$port" cluster info | grep -q cluster_state:ok && break
    sleep 0.1
  done
done

# One thread each, as in bench/run.sh: per-core figures.
start_gateway single --threads 1 --max-sessions 30000 --max-queue 100000
kafka=$(sed -n 's/^kafka.bootstrap=//p' "$out/single.out")
start_gateway c1 --threads 1 --max-sessions 30000 --max-queue 100000 --redis-cluster "$cluster" \
  --kafka-brokers "$kafka"
start_gateway c2 --threads 1 --max-sessions 30000 --max-queue 100000 --redis-cluster "$cluster" \
  --kafka-brokers "$kafka"

# The shipped front, with plain HTTP instead of TLS and HTTP/2, one worker.
front_port=$(free_port)
mkdir -p "$out/front"
/usr/bin/python3 - deploy/nginx/ssebridge.conf "$out/front" "$front_port" "$c1_port" "$c2_port" <<'PY'
import re, sys
conf, work, port, c1, c2 = sys.argv[1:]
site = open(conf).read()
def must(pattern, to):
    global site
    site, n = re.subn(pattern, to, site)
    assert n, "deploy/nginx/ssebridge.conf lost " + pattern
must(r"server 127\.0\.0\.1:8080 ", f"server 127.0.0.1:{c1} ")
must(r"server 127\.0\.0\.1:8081 ", f"server 127.0.0.1:{c2} ")
must(r"listen 443 ssl http2;", f"listen 127.0.0.1:{port};")
must(r"\n\s*listen \[::\]:443 ssl http2;", "")
must(r"\n\s*ssl_[a-z_]+ [^;]*;", "")
must(r"access_log /var/log/nginx/ssebridge\.access\.log ssebridge;", "access_log off;")
temp = "\n".join(f"  {t}_temp_path {work}/{t};" for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
open(f"{work}/nginx.conf", "w").write(
    f"daemon off;\nmaster_process off;\npid {work}/nginx.pid;\nerror_log {work}/error.log warn;\n"
    f"events {{ worker_connections 20000; }}\nhttp {{\n{temp}\n{site}\n}}\n")
PY
nginx -p "$out/front" -c "$out/front/nginx.conf" &
pids+=($!)
front_pid=$!
wait_http "http://127.0.0.1:$front_port/readyz"

if [ -n "${BENCH_QUICK:-}" ]; then scale=10; else scale=1; fi
events_total=$((1000000 / scale))
seconds=$((10 / scale + 1))

cpu_sum() { for p in "$@"; do cpu_seconds "$p"; done | awk '{s += $1} END {printf "%.2f\n", s}'; }

# shape NAME GATEWAYS SERVER_PIDS REDIS_PIDS REDIS_FLAGS...: a throughput and a
# latency run, with the CPU seconds of the servers and of Redis recorded.
shape() {
  local name=$1 gateways=$2 servers=$3 redises=$4
  shift 4
  for run in throughput latency; do
    local args=(--scenario throughput --sessions 1000 --events $((events_total / 1000)))
    [ $run = latency ] && args=(--scenario latency --sessions 1000 --rate 20000 --duration "$seconds")
    local before redis_before
    before=$(cpu_sum $servers)
    redis_before=$(cpu_sum $redises)
    build/release/bench/ssebridge-bench --target ssebridge --gateway "$gateways" "$@" "${args[@]}" \
      --json "$out/$name-$run.json"
    /usr/bin/python3 - "$out/$name-$run.json" "$before" "$(cpu_sum $servers)" "$redis_before" \
      "$(cpu_sum $redises)" <<'PY'
import json, sys
path, before, after, redis_before, redis_after = sys.argv[1], *map(float, sys.argv[2:])
r = json.load(open(path))
r["server_cpu_seconds"] = after - before
r["redis_cpu_seconds"] = redis_after - redis_before
json.dump(r, open(path, "w"))
PY
  done
}

echo "== one gateway, one Redis"
shape single "127.0.0.1:$single_port" "$single_pid" "$redis_pid" --redis "$redis"
echo "== one gateway, a 3-master cluster"
shape cluster1 "127.0.0.1:$c1_port" "$c1_pid" "${cluster_pids[*]}" --redis-cluster "$cluster"
echo "== two gateways, a 3-master cluster"
shape cluster2 "127.0.0.1:$c1_port,127.0.0.1:$c2_port" "$c1_pid $c2_pid" "${cluster_pids[*]}" \
  --redis-cluster "$cluster"
echo "== the nginx front, two gateways, a 3-master cluster"
shape front "127.0.0.1:$front_port" "$c1_pid $c2_pid $front_pid" "${cluster_pids[*]}" \
  --redis-cluster "$cluster"

/usr/bin/python3 - "$out" > "$out/results.md" <<'PY'
import json, subprocess, sys
out = sys.argv[1]
def load(name, run): return json.load(open(f"{out}/{name}-{run}.json"))
rows = [("single", "1 gateway, 1 Redis"), ("cluster1", "1 gateway, 3-master cluster"),
        ("cluster2", "2 gateways, 3-master cluster"), ("front", "nginx front, 2 gateways, 3-master cluster")]
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
print(f"Measured by `bench/deploy.sh` on {cpu}, {cores} cores (every process shares them).\n")
print("| shape | events/s, 1,000 sessions | CPU µs/event: gateways (+ front) | CPU µs/event: Redis | p50 / p99 at 20,000 events/s |")
print("|---|---:|---:|---:|---:|")
for name, label in rows:
    t, l = load(name, "throughput"), load(name, "latency")
    per = lambda r, k: 1e6 * r[k] / max(r["delivered"], 1)
    print(f"| {label} | {t['events_per_second']:,.0f} | {per(t, 'server_cpu_seconds'):.1f} | "
          f"{per(t, 'redis_cpu_seconds'):.1f} | {l['latency_us']['p50'] / 1000:.2f} / {l['latency_us']['p99'] / 1000:.2f} ms |")
PY
cat "$out/results.md"
if [ -z "${BENCH_QUICK:-}" ]; then
  splice_results deploy "$out/results.md"
  echo "docs/benchmarks.md updated (deployment shapes)"
fi
