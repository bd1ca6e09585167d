#!/usr/bin/env bash
# Builds and runs every test: the debug build, then the ASan+UBSan build, the
# gateway tests under ThreadSanitizer, then every fuzz target for a bounded
# time. Installs what it needs first.
# SSEBRIDGE_TEST_PRESETS="dev" runs fewer builds; SSEBRIDGE_FUZZ_SECONDS (20 per
# target; 0: none) bounds the fuzzing; SSEBRIDGE_TSAN=0 skips ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== clang-format"
bash scripts/format.sh --check

# The optimised build that scripts/run.sh uses must compile too.
echo "== build (release)"
cmake --preset release >/dev/null
cmake --build --preset release --target ssebridge-gateway

for preset in ${SSEBRIDGE_TEST_PRESETS:-dev asan}; do
  echo "== build ($preset)"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  echo "== test ($preset)"
  ctest --preset "$preset" -j2
done

# The shards of --threads under ThreadSanitizer: the gateway tests only.
if [ "${SSEBRIDGE_TSAN:-1}" != "0" ]; then
  echo "== build (tsan)"
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan --target ssebridge-gateway test_gateway_process test_gateway
  echo "== test (tsan)"
  ctest --preset tsan -j2
fi

# Every fuzz target for a bounded time (FUZZ_SECONDS each, 20 by default).
if [ "${SSEBRIDGE_FUZZ_SECONDS:-20}" != "0" ]; then
  echo "== fuzz"
  FUZZ_SECONDS="${SSEBRIDGE_FUZZ_SECONDS:-20}" bash scripts/fuzz.sh
fi
