#!/usr/bin/env bash
# Builds and runs every test: the debug build, then the ASan+UBSan build.
# Installs what it needs first. SSEBRIDGE_TEST_PRESETS="dev" runs fewer builds.
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
