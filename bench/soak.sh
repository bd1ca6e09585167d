#!/usr/bin/env bash
# The soak (not part of the tests): a gateway, the reference worker and Redis
# under sessions with churn for a while; every answer is checked, the
# gateway's RSS and descriptors are sampled every 10 s.
#   bench/soak.sh                # 10 minutes
#   SOAK_MINUTES=60 bench/soak.sh  (or SOAK_SECONDS)
#   SOAK_CLIENTS=400 SOAK_CUT_SHARE=0.2 bench/soak.sh
# Prints the samples and a summary; exits 1 if any session failed or RSS grew
# by more than SOAK_RSS_SLACK_KIB (default 8192) from the first minute on.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${SOAK_MINUTES:-10}
seconds=${SOAK_SECONDS:-$((minutes * 60))}
clients=${SOAK_CLIENTS:-200}
cut_share=${SOAK_CUT_SHARE:-0.1}
slack=${SOAK_RSS_SLACK_KIB:-8192}

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target ssebridge-gateway ssebridge-worker ssebridge-bench

out=$(pwd)/build/release/soak-results
rm -rf "$out" && mkdir -p "$out"
source bench/common.sh
start_redis
start_gateway gateway --max-sessions 30000
kafka=$(sed -n 's/^kafka.bootstrap=//p' "$out/gateway.out")

answer="The soak checks every character of this answer."
build/release/app/ssebridge-worker --redis "$redis" --kafka-brokers "$kafka" --delay 0.002 \
  --thought "thinking" --answer "$answer" --log-level warn > "$out/worker.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "worker ready" "$out/worker.out" && break; sleep 0.1; done

echo "soak: $seconds s, $clients clients, ${cut_share} of sessions hung up mid-answer"
set +e
build/release/bench/ssebridge-bench --scenario soak --target ssebridge --redis "$redis" \
  --gateway "127.0.0.1:$gateway_port" --gateway-pid "$gateway_pid" --duration "$seconds" \
  --concurrency "$clients" --cut-share "$cut_share" --expect "$answer" \
  --json "$out/soak.json" | tee "$out/soak.txt"
bench_status=${PIPESTATUS[0]}
set -e
[ -s "$out/soak.json" ] || exit "$bench_status"

/usr/bin/python3 - "$out/soak.json" "$slack" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["soak"]
growth = s["rss_kib_end"] - s["rss_kib_warm"]
print(f"soak summary: {s['sessions_checked']} sessions checked ({s['events_checked']} events), "
      f"{s['sessions_cut']} cut, {s['sessions_failed']} failed; gateway RSS "
      f"{s['rss_kib_warm']} -> {s['rss_kib_end']} KiB ({growth:+d}), descriptors "
      f"{s['fds_warm']} -> {s['fds_end']}")
if "first_failure" in r:
    print("first failure:", r["first_failure"])
sys.exit(1 if s["sessions_failed"] or growth > int(sys.argv[2]) else 0)
PY
