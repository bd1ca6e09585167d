#!/usr/bin/env bash
# The Debian package, as an operator gets it: `cpack -G DEB` builds it, it
# unpacks into a scratch root (dpkg -x), and from there the gateway (with the
# shipped example settings), the worker and the demo page serve a session end
# to end; the systemd unit passes `systemd-analyze verify`; a program builds
# against the libraries with the shipped pkg-config file.
# Usage: tests/package/run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1")
src=$(realpath "$2")
work=$(mktemp -d /tmp/ssebridge-package-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for FILE TEXT: until FILE holds TEXT (15 s).
wait_for() {
  for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  cat "$1" >&2; fail "no '$2' in $1"
}

(cd "$build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log") || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/pkg/ssebridge_*_amd64.deb)
depends=$(dpkg-deb --field "$deb" Depends)
for lib in librdkafka1 libssl3 libboost-json1.81.0; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
root="$work/root"
dpkg -x "$deb" "$root"
for f in usr/bin/ssebridge-gateway usr/bin/ssebridge-worker usr/bin/ssebridge-publish \
         usr/lib/systemd/system/ssebridge-gateway.service usr/share/ssebridge/web/index.html \
         usr/share/ssebridge/python/ssebridge_worker.py usr/share/doc/ssebridge/examples/gateway.env \
         usr/share/doc/ssebridge/examples/ssebridge.conf usr/share/doc/ssebridge/operations.md \
         usr/lib/pkgconfig/ssebridge.pc usr/lib/cmake/ssebridge/ssebridgeConfig.cmake \
         usr/include/ssebridge/redis/resp.hpp; do
  [ -e "$root/$f" ] || fail "the package lacks /$f"
done

# The unit is valid, hardened (systemd's own exposure score) and names a binary that exists.
# (verify with --root wants a whole system: the unit's binary is pointed into the root instead.)
mkdir "$work/units"
unit="$work/units/ssebridge-gateway.service"
sed "s|^ExecStart=/usr/bin/|ExecStart=$root/usr/bin/|" \
  "$root/usr/lib/systemd/system/ssebridge-gateway.service" >"$unit"
systemd-analyze verify --man=no "$unit" >"$work/verify.log" 2>&1 || { cat "$work/verify.log"; fail "unit"; }
[ -s "$work/verify.log" ] && { cat "$work/verify.log"; fail "systemd-analyze verify complained"; }
exposure=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null |
  sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
echo "systemd exposure level: $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }' || fail "exposure $exposure > 2.0"

# Every commented default of the example settings is the gateway's own.
env_file="$root/usr/share/doc/ssebridge/examples/gateway.env"
help=$("$root/usr/bin/ssebridge-gateway" --help)
while IFS='=' read -r name value; do
  grep -q "env ${name#\#}, default $value\$" <<<"$help" || fail "gateway.env says $name=$value"
done < <(grep '^#SSEBRIDGE_' "$env_file")

# The gateway with the example settings (its Kafka and Redis overridden by
# flags), the worker, a session over curl.
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  >"$work/redis.log" &
pids+=($!)
wait_for "$work/redis.log" "Ready to accept connections"
"$root/usr/bin/ssebridge-gateway" --config "$env_file" --listen 127.0.0.1:0 \
  --redis "redis://127.0.0.1:$redis_port" --kafka-brokers embedded --log-level warn \
  --static-dir "$root/usr/share/ssebridge/web" >"$work/gateway.log" 2>&1 &
pids+=($!)
wait_for "$work/gateway.log" "listening on"
address=$(sed -n 's/^listening on //p' "$work/gateway.log")
bootstrap=$(sed -n 's/^kafka.bootstrap=//p' "$work/gateway.log")
"$root/usr/bin/ssebridge-worker" --kafka-brokers "$bootstrap" --redis "redis://127.0.0.1:$redis_port" \
  --delay 0.001 --answer 'from the package' >"$work/worker.log" 2>&1 &
pids+=($!)
wait_for "$work/worker.log" "worker ready"
for _ in $(seq 100); do curl -sf "http://$address/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "http://$address/" | grep -q "<form id=\"ask\"" || fail "the demo page is not served"
curl -sN --max-time 20 -X POST "http://$address/v1/react/sessions" -H 'Content-Type: application/json' \
  -d '{"user_query":"hi"}' >"$work/stream.txt" || true
answer=$(grep -o '"char":"[^"]*"' "$work/stream.txt" | sed 's/"char":"\(.*\)"/\1/' | tr -d '\n')
grep -q '"event_type":"worker_ack"' "$work/stream.txt" || fail "no worker_ack: $(cat "$work/stream.txt")"
grep -q '"event_type":"FinalAnswerStreamEnd"' "$work/stream.txt" || fail "no end: $(cat "$work/stream.txt")"
[[ $answer == *"from the package" ]] || fail "answer '$answer'"

# A program outside the tree, built with the shipped pkg-config file only.
export PKG_CONFIG_PATH="$root/usr/lib/pkgconfig"
# shellcheck disable=SC2046
g++ -o "$work/consumer" "$src/tests/install/consumer/main.cpp" $(pkg-config --cflags --libs ssebridge) ||
  fail "build with pkg-config"
[ "$("$work/consumer")" = ok ] || fail "the pkg-config consumer"
echo "package ok: $(basename "$deb"), $(du -h "$deb" | cut -f1)"
