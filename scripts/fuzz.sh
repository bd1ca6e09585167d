#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan) and runs each for a
# while from the seed corpora in fuzz/corpus/ (copied: the seeds stay as they are).
#   scripts/fuzz.sh                       # every target, 20 s each (what the tests run)
#   FUZZ_SECONDS=3600 scripts/fuzz.sh     # the long run
#   scripts/fuzz.sh resp token            # some targets
# A crash leaves its input in build/fuzz/findings/<target>/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(resp sse_decoder http_request event kafka_record token)

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "build/fuzz/findings/$t"
  cp fuzz/corpus/"$t"/* "$work/$t"/
  log="$work/$t.log"
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
     "build/fuzz/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="build/fuzz/findings/$t/" "$work/$t" >"$log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz_$t: ${execs} runs in ${seconds} s, no finding"
  else
    echo "fuzz_$t: FINDING (input in build/fuzz/findings/$t/):"
    grep -E 'ERROR|SUMMARY|runtime error|deadly signal' "$log" | head -5 || tail -20 "$log"
    status=1
  fi
done
exit $status
