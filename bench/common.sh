# Shared by bench/run.sh and bench/soak.sh (sourced): processes started here
# are stopped on exit; $out is the caller's results directory.
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cpu_seconds() { awk '{printf "%.2f\n", ($14 + $15) / 100}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
wait_http() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

# splice_results NAME FILE: FILE replaces what stands between
# <!-- NAME:start --> and <!-- NAME:end --> in docs/benchmarks.md.
splice_results() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import re, sys
name, results = sys.argv[1], open(sys.argv[2]).read()
doc = open("docs/benchmarks.md").read()
start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
assert start in doc and end in doc, f"docs/benchmarks.md lost its {name} markers"
doc = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: start + "\n" + results + end, doc, flags=re.S)
open("docs/benchmarks.md", "w").write(doc)
PY
}

# A private redis-server: sets redis_port, redis_pid and redis (its URL).
start_redis() {
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$out" \
    --logfile "$out/redis.log" &
  pids+=($!)
  redis_pid=$!
  redis="redis://127.0.0.1:$redis_port"
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
}

# start_gateway NAME ARGS...: the release gateway on a free port; sets
# NAME_pid and NAME_port, returns once it is ready.
start_gateway() {
  local name=$1 port
  shift
  port=$(free_port)
  build/release/app/ssebridge-gateway --listen "127.0.0.1:$port" --redis "$redis" --log-level warn "$@" \
    > "$out/$name.out" 2>&1 &
  pids+=($!)
  eval "${name}_pid=$! ${name}_port=$port"
  wait_http "http://127.0.0.1:$port/readyz"
}
