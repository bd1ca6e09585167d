#!/usr/bin/env bash
# Builds ssebridge (release) and runs the whole system on embedded defaults:
# a private redis-server on a free port (unless SSEBRIDGE_REDIS names one),
# the gateway with the in-process Kafka mock and the demo page, and the
# reference worker. Prints the URL to open. Ctrl-C stops everything.
# Extra arguments go to ssebridge-gateway.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target ssebridge-gateway ssebridge-worker ssebridge-publish

run_dir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# Waits until FILE has a line starting with PREFIX and prints the rest of it.
wait_line() {
  for _ in $(seq 1 200); do
    if line=$(grep -m1 "^$2" "$1" 2>/dev/null); then echo "${line#"$2"}"; return 0; fi
    sleep 0.05
  done
  echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}

if [ -z "${SSEBRIDGE_REDIS:-}" ]; then
  redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$run_dir" \
    --logfile "$run_dir/redis.log" &
  pids+=($!)
  export SSEBRIDGE_REDIS="redis://127.0.0.1:$redis_port"
  for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
fi

build/release/app/ssebridge-gateway --static-dir web "$@" > "$run_dir/gateway.out" &
pids+=($!)
bootstrap=$(wait_line "$run_dir/gateway.out" "kafka.bootstrap=")
listening=$(wait_line "$run_dir/gateway.out" "listening on ")

build/release/app/ssebridge-worker --kafka-brokers "$bootstrap" > "$run_dir/worker.out" &
pids+=($!)
wait_line "$run_dir/worker.out" "worker ready" >/dev/null

echo
echo "  redis:  $SSEBRIDGE_REDIS"
echo "  kafka:  $bootstrap (embedded)"
echo "  open:   http://$listening/"
echo
echo "Ctrl-C stops everything."
wait "${pids[@]}"
