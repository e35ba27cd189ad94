#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# compare_seed.sh: ns_per_op of slotpool-sim replay against the seed replayer
# (../shared/anchors/seed_replay.rs) on the same generated traces, measured in
# one run, best of REPEAT replays each; prints the seed/slotpool ratio (> 1 =
# slotpool faster). A benchmark, not a test.
# Usage: tools/compare_seed.sh SIM SEED_REPLAY [OPS] [REPEAT]
set -euo pipefail
sim="$1" seed="$2" ops="${3:-1000000}" repeat="${4:-5}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '%-58s %6s %12s %12s %7s\n' workload warm seed_ns/op sim_ns/op ratio
while IFS='|' read -r name cap warm flags; do
  # shellcheck disable=SC2086
  "$sim" gen --ops "$ops" --capacity "$cap" --seed 1 $flags >"$tmp/t"
  s=$("$seed" "$cap" "$warm" "$tmp/t" --quiet --repeat "$repeat" 2>&1 | sed -n 's/.*ns_per_op=\([0-9.]*\).*/\1/p')
  m=$("$sim" replay "$tmp/t" --capacity "$cap" --warm "$warm" --repeat "$repeat" --json | sed -nE 's/.*"ns_per_op":([0-9.]+).*/\1/p')
  printf '%-58s %6s %12s %12s %7.2f\n' "$name" "$warm" "$s" "$m" "$(awk -v s="$s" -v m="$m" 'BEGIN { print s / m }')"
done <<'GRID'
50 keys zipf 1.1 cap 256|256|64|--keys 50 --zipf 1.1 --free-prob 0.52
1000 keys zipf 1.0 cap 1000, clears+nokey|1000|100|--keys 1000 --zipf 1.0 --clear-prob 0.02 --no-key-prob 0.1
100k keys zipf 0.8 cap 300|300|300|--keys 100000 --zipf 0.8 --free-prob 0.45
10 keys uniform cap 1000|1000|1000|--keys 10 --zipf 0
1M keys zipf 0.6 cap 10000|10000|1000|--keys 1000000 --zipf 0.6
GRID
