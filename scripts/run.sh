#!/usr/bin/env bash
# Builds ssebridge (release) and runs the gateway on embedded defaults:
# the in-process Kafka mock, and a private redis-server on a free port unless
# SSEBRIDGE_REDIS names one. Extra arguments go to ssebridge-gateway.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target ssebridge-gateway

cleanup() { [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null; [ -n "${redis_dir:-}" ] && rm -rf "$redis_dir"; }
trap cleanup EXIT

if [ -z "${SSEBRIDGE_REDIS:-}" ]; then
  redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis_dir=$(mktemp -d)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$redis_dir" \
    --logfile "$redis_dir/redis.log" &
  redis_pid=$!
  export SSEBRIDGE_REDIS="redis://127.0.0.1:$redis_port"
  echo "redis-server on 127.0.0.1:$redis_port (redis-cli -p $redis_port)"
fi

build/release/app/ssebridge-gateway "$@" &
gateway_pid=$!
trap 'kill -TERM $gateway_pid 2>/dev/null' INT TERM
wait "$gateway_pid" || true
wait "$gateway_pid" 2>/dev/null || true
