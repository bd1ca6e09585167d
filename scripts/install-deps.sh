#!/usr/bin/env bash
# Installs the Debian 12 packages ssebridge needs to build, test and run.
# Idempotent: packages already present are not fetched again.
# Also installs the npm packages of the JavaScript tests.
#   scripts/install-deps.sh          # build, test and run
#   scripts/install-deps.sh --bench  # and the peers and tools of bench/run.sh
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache clang-format pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-test1.81-dev
  librdkafka-dev libhiredis-dev libssl-dev
  redis-server redis-tools
  python3-redis
  chromium
  libbenchmark-dev
  clang-14 libfuzzer-14-dev
  prometheus-cpp-dev
  nginx openssl curl dpkg-dev systemd
)
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
# nginx + nchan: the peer measured side by side; linux-perf: the CPU profile.
# The seed's Python gateway (bench/peers/sse_driver.py): FastAPI, uvicorn, Kafka.
[ "${1:-}" = "--bench" ] && packages+=(libnginx-mod-nchan linux-perf
  python3-fastapi python3-uvicorn python3-confluent-kafka)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The packaged redis-server service is not ours to run; tests start their own.
  # Nor is nginx's: the tests and bench/run.sh start their own.
  if command -v systemctl >/dev/null 2>&1; then
    $sudo systemctl disable --now redis-server nginx >/dev/null 2>&1 || true
  fi
fi

# The JavaScript tests' npm packages, pinned by tests/package-lock.json:
# playwright-core (it drives Debian's chromium; it never downloads a browser),
# the SSE clients they test and esbuild to bundle them for a page. Installed
# again whenever the lock file is newer than what npm last installed.
cd "$(dirname "$0")/../tests"
[ node_modules/.package-lock.json -nt package-lock.json ] ||
  npm ci --no-audit --no-fund --loglevel=error
