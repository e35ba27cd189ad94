#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# replay_matrix.sh: the index allocator's replay speed against the seed.
#
# For capacity {1000, 100000} x keys {10, 1000, 100000} x warm budget
# {0, capacity/10, capacity}, on traces of OPS operations from
# `slotpool-sim gen` (zipf 1.0, free probability 0.5): slotpool's ns_per_op
# (one shard), the seed replayer's on the same trace when rustc can build it,
# their ratio, slotpool against the lock floor (bench_lock), and a check that
# both replayers hand out byte-identical slots. Each figure is the median of
# ROUNDS runs, seed and slotpool alternating, each run the best of 3 replays.
# "harness" is bench_replay_floor on the same trace: the same replay loop
# driving a locked LIFO stack of slots, the least any allocator can cost
# here; "ours/h" is slotpool over it.
# A benchmark, not a test: it prints, it does not judge.
#
# Usage: bench/replay_matrix.sh BUILD_DIR [ROUNDS] [OPS]
#        (SEED_REPLAY=path uses a prebuilt seed replayer)
set -euo pipefail
build="$1" rounds="${2:-5}" ops="${3:-1000000}"
sim="$build/tools/slotpool-sim"
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"
find_seed
[ -n "$seed" ] || echo "replay_matrix: seed replayer unavailable (no rustc or ../shared/anchors): slotpool only"
floor=$("$build/bench/bench_lock" 7 | sed -n 's/^floor_ns=//p')

ours_ns() { "$sim" replay "$1" --capacity "$2" --warm "$3" --shards 1 --repeat 3 --json | sed -nE 's/.*"ns_per_op":([0-9.]+).*/\1/p'; }
seed_ns() { "$seed" "$2" "$3" "$1" --quiet --repeat 3 2>&1 | sed -n 's/.*ns_per_op=\([0-9.]*\).*/\1/p'; }

echo "lock floor (bench_lock, median): $floor ns"
printf '| %8s | %6s | %6s | %9s | %9s | %6s | %8s | %9s | %7s | %9s |\n' capacity keys warm "seed ns" "ours ns" ratio "ours/fl" \
  "harness" "ours/h" identical
printf '|---------:|-------:|-------:|----------:|----------:|-------:|---------:|----------:|--------:|----------:|\n'
results="$tmp/results"
: >"$results"
for cap in 1000 100000; do
  for keys in 10 1000 100000; do
    trace="$tmp/t_${cap}_${keys}"
    "$sim" gen --ops "$ops" --keys "$keys" --capacity "$cap" --zipf 1.0 --free-prob 0.5 --seed 7 >"$trace"
    harness=$("$build/bench/bench_replay_floor" "$trace" "$cap" "$rounds" | sed -n 's/^harness_ns=//p')
    for warm in 0 $((cap / 10)) "$cap"; do
      : >"$tmp/o"; : >"$tmp/s"
      for _ in $(seq "$rounds"); do
        [ -z "$seed" ] || seed_ns "$trace" "$cap" "$warm" >>"$tmp/s"
        ours_ns "$trace" "$cap" "$warm" >>"$tmp/o"
      done
      o=$(median <"$tmp/o")
      same="-"
      if [ -n "$seed" ]; then
        s=$(median <"$tmp/s")
        a=$("$seed" "$cap" "$warm" "$trace" 2>/dev/null | sha256sum)
        b=$("$sim" replay "$trace" --capacity "$cap" --warm "$warm" --shards 1 --slots - 2>/dev/null | sha256sum)
        [ "$a" = "$b" ] && same=yes || same=NO
        ratio=$(awk -v s="$s" -v o="$o" 'BEGIN { printf "%.2f", s / o }')
      else
        s="-" ratio="-"
      fi
      printf '| %8s | %6s | %6s | %9s | %9s | %6s | %8s | %9s | %7s | %9s |\n' "$cap" "$keys" "$warm" "$s" "$o" "$ratio" \
        "$(awk -v o="$o" -v f="$floor" 'BEGIN { printf "%.2f", o / f }')" "$harness" \
        "$(awk -v o="$o" -v h="$harness" 'BEGIN { printf "%.2f", o / h }')" "$same"
      echo "$ratio $o $harness" >>"$results"
    done
  done
done
awk -v f="$floor" '
  { if ($1 != "-") { lr += log($1); n++ } lo += log($2); lh += log($3); m++; if ($2 > worst) worst = $2; if (best == "" || $2 < best) best = $2
    if (hmin == "" || $3 < hmin) hmin = $3 }
  END {
    if (n) printf "geometric mean seed/slotpool: %.2f (cells: %d)\n", exp(lr / n), n
    printf "slotpool ns/op: geometric mean %.2f, best cell %.2f, worst cell %.2f (worst/best %.2f)\n", exp(lo / m), best, worst, worst / best
    printf "slotpool ns/op against the lock floor: geometric mean %.2fx\n", exp(lo / m) / f
    printf "harness (loop + locked LIFO, no policy): geometric mean %.2f ns, %.2fx the lock floor at least\n", exp(lh / m), hmin / f
    printf "slotpool ns/op against the harness: geometric mean %.2fx\n", exp(lo / m) / exp(lh / m)
  }' "$results"
