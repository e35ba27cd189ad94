#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every libFuzzer target (tests/fuzz/fuzz_<t>.c) for SECONDS each, one
# after the other on one core, and reports executions, exec/s, coverage and
# any crash reproducer. Not part of `make check` (see docs/ROBUSTNESS.md).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]       (make fuzz FUZZ_SECONDS=N)
#
# Builds build/fuzz with clang, -fsanitize=fuzzer,address,undefined. Each
# target starts from its committed corpus tests/fuzz/corpus/<t>/ plus what
# earlier runs found (build/fuzz/corpus/<t>/, never committed on its own);
# FUZZ_MERGE=1 afterwards minimises the new finds into the committed corpus.
# Reproducers land in build/fuzz/artifacts/<t>/; replay one with
#   build/fuzz/tests/fuzz/fuzz_<t> FILE
# Exit status: 0 when no target found anything, 1 otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${1:-60}"
shift || true
B="${FUZZ_BUILD:-build/fuzz}"
jobs="$(nproc 2>/dev/null || echo 2)"

cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DSP_FUZZ=ON \
  "-DSP_SANITIZE=address;undefined" -DSP_BUILD_BENCH=OFF -DSP_BUILD_EXAMPLES=OFF \
  -DSP_BUILD_TOOLS=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do
    t="$(basename "$f" .c)"
    t="${t#fuzz_}"
    [ "$t" = main ] || targets+=("$t")
  done
fi
cmake --build "$B" -j "$jobs" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
printf '%-10s %8s %12s %10s %8s %8s  %s\n' target seconds execs exec/s cov ft result
for t in "${targets[@]}"; do
  bin="$B/tests/fuzz/fuzz_$t"
  work="$B/corpus/$t"
  art="$B/artifacts/$t"
  log="$B/fuzz_$t.log"
  mkdir -p "$work" "$art"
  stamp="$B/.fuzz_$t.start"
  touch "$stamp"
  rc=0
  # One process, one core (the machine is shared); -timeout turns a hang
  # into a reproducer.
  "$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$art/" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  # A run that crashes at once prints no stats: `|| true` keeps set -e quiet.
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)" || true
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)" || true
  cov="$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)"
  ft="$( (grep -o 'ft: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)"
  found="$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) -newer "$stamp" | sort)"
  result=ok
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    result="FAILED (exit $rc, log $log)"
    status=1
  fi
  printf '%-10s %8s %12s %10s %8s %8s  %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "$result"
  for f in $found; do
    echo "  reproducer: $f   (replay: $bin $f)"
  done
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    "$bin" -merge=1 "tests/fuzz/corpus/$t" "$work" >>"$log" 2>&1
    echo "  merged into tests/fuzz/corpus/$t: $(ls "tests/fuzz/corpus/$t" | wc -l) files"
  fi
done
exit "$status"
