#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mt_matrix.sh: multi-thread throughput and affinity of the sharded index,
# on the workload of `seed_replay --mt` (each thread alloc(zipf key)/free with
# its own stream), measured in one run:
#   1. threads x shards: total Mops/s (median of ROUNDS runs, each the best
#      of 3) for one shard, automatic shards and, when rustc can build it,
#      the seed's single lock; threads 1, 2, then 4, 8, 16 up to nproc;
#   2. the targets: 1 thread automatic vs 1 shard, 2 threads automatic vs
#      1 thread, 2 threads automatic vs the seed with 2 threads;
#   3. affine hit rate with S shards against one shard, 2 threads, for
#      capacity {1000, 10000} x keys {100, 1000} x budget {cap/10, cap};
#   4. what the machine allows two threads, against one thread, automatic
#      shards: two independent processes of one thread each (nothing
#      shared at all), and two threads of one index that share no key
#      (`--own-keys`); with 2 threads of the workload above beside them,
#      with and without SP_INDEX_HOME_AFFINITY (`--home-affinity`), and each
#      configuration's affine hit rate. The scaling target cannot be met
#      where the first two do not.
# A benchmark, not a test.
#
# Usage: bench/mt_matrix.sh BUILD_DIR [ROUNDS] [OPS_PER_THREAD] [SHARDS_FOR_HITS]
#        (SEED_REPLAY=path uses a prebuilt seed replayer)
set -euo pipefail
build="$1" rounds="${2:-5}" ops="${3:-1000000}" hit_shards="${4:-0}"
sim="$build/tools/slotpool-sim"
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"
find_seed
field() { sed -nE "s/.*\"$1\":([0-9.]+).*/\\1/p"; }
# ours CAP WARM SHARDS THREADS KEYS -> "mops hit_rate shards_used"
ours() {
  "$sim" mt --capacity "$1" --warm "$2" --shards "$3" --threads "$4" --ops "$ops" --keys "$5" \
    --zipf 1.0 --repeat 3 --json "${@:6}" >"$tmp/j"
  echo "$(field mops <"$tmp/j") $(field affine_hit_rate <"$tmp/j")"
}
seedmt() {
  "$seed" --mt "$1" "$2" --threads "$3" --ops "$ops" --keys "$4" --zipf 1.0 --repeat 3 |
    sed -n 's/.*mops=\([0-9.]*\).*/\1/p'
}

n=$(nproc)
threads="1 2"
for t in 4 8 16; do [ "$t" -le "$n" ] && threads="$threads $t"; done
auto=$("$sim" mt --capacity 10000 --warm 1000 --shards 0 --threads 1 --ops 1000 --keys 10 --json | field shards)
echo "machine: $n CPUs; automatic shards for 10000 slots: $( [ "$auto" = 0 ] && echo "one per CPU (<= 16)" || echo "$auto")"
echo
echo "1. throughput, capacity 10000, warm 1000, 1000 keys zipf 1.0, $ops ops/thread, Mops/s (median of $rounds)"
printf '| %7s | %9s | %9s | %9s |\n' threads "1 shard" automatic "seed"
printf '|--------:|----------:|----------:|----------:|\n'
declare -A one autos seeds
for t in $threads; do
  # Alternating within each round, so that the VM's drift from one minute
  # to the next does not land on one column only.
  : >"$tmp/m1"; : >"$tmp/ma"; : >"$tmp/ms"
  for _ in $(seq "$rounds"); do
    ours 10000 1000 1 "$t" 1000 | awk '{ print $1 }' >>"$tmp/m1"
    ours 10000 1000 0 "$t" 1000 | awk '{ print $1 }' >>"$tmp/ma"
    [ -z "$seed" ] || seedmt 10000 1000 "$t" 1000 >>"$tmp/ms"
  done
  one[$t]=$(median <"$tmp/m1")
  autos[$t]=$(median <"$tmp/ma")
  seeds[$t]="-"
  [ -z "$seed" ] || seeds[$t]=$(median <"$tmp/ms")
  printf '| %7s | %9s | %9s | %9s |\n' "$t" "${one[$t]}" "${autos[$t]}" "${seeds[$t]}"
done
echo
echo "2. targets"
awk -v a="${autos[1]}" -v o="${one[1]}" 'BEGIN { printf "  1 thread, automatic vs 1 shard:   %.2fx the time (target <= 1.1)\n", o / a }'
awk -v a2="${autos[2]}" -v a1="${autos[1]}" 'BEGIN { printf "  2 threads vs 1 thread, automatic:  %.2fx the throughput (target >= 1.8)\n", a2 / a1 }'
awk -v a2="${autos[2]}" -v o1="${one[1]}" 'BEGIN { printf "  2 threads automatic vs 1 shard, 1 thread: %.2fx\n", a2 / o1 }'
[ -z "$seed" ] || awk -v a2="${autos[2]}" -v s2="${seeds[2]}" 'BEGIN { printf "  2 threads, automatic vs seed:     %.2fx the throughput (target >= 5)\n", a2 / s2 }'
echo
hs=$hit_shards; [ "$hs" = 0 ] && hs="automatic"
echo "3. affine hit rate, 2 threads, $hs shards vs 1 shard (median of $rounds)"
printf '| %8s | %5s | %6s | %8s | %8s | %7s |\n' capacity keys warm "1 shard" "sharded" ratio
printf '|---------:|------:|-------:|---------:|---------:|--------:|\n'
worst=9
for cap in 1000 10000; do for keys in 100 1000; do for warm in $((cap / 10)) "$cap"; do
  h1=$(for _ in $(seq "$rounds"); do ours "$cap" "$warm" 1 2 "$keys" | awk '{ print $2 }'; done | median)
  hs_=$(for _ in $(seq "$rounds"); do ours "$cap" "$warm" "$hit_shards" 2 "$keys" | awk '{ print $2 }'; done | median)
  r=$(awk -v a="$hs_" -v b="$h1" 'BEGIN { printf "%.4f", (b > 0) ? a / b : 1 }')
  worst=$(awk -v w="$worst" -v r="$r" 'BEGIN { if (r + 0 < w + 0) print r; else print w }')
  printf '| %8s | %5s | %6s | %8s | %8s | %7s |\n' "$cap" "$keys" "$warm" "$h1" "$hs_" "$r"
done; done; done
echo "  worst sharded/1-shard hit-rate ratio: $worst (target >= 0.98)"
echo
echo "4. what two CPUs allow here, automatic shards, Mops/s (median of $rounds, alternating)"
: >"$tmp/c1"; : >"$tmp/cp"; : >"$tmp/co"; : >"$tmp/cs"; : >"$tmp/ch"; : >"$tmp/c2"
for _ in $(seq "$rounds"); do
  ours 10000 1000 0 1 1000 >>"$tmp/c1"
  # Two processes started together, each timing its own best of 3.
  "$sim" mt --capacity 10000 --warm 1000 --shards 0 --threads 1 --ops "$ops" --keys 1000 --repeat 3 --json >"$tmp/p1" &
  "$sim" mt --capacity 10000 --warm 1000 --shards 0 --threads 1 --ops "$ops" --keys 1000 --repeat 3 --json >"$tmp/p2"
  wait
  awk -v a="$(field mops <"$tmp/p1")" -v b="$(field mops <"$tmp/p2")" 'BEGIN { print a + b }' >>"$tmp/cp"
  ours 10000 1000 0 2 1000 --own-keys >>"$tmp/co"
  ours 10000 1000 0 2 1000 >>"$tmp/cs"
  ours 10000 1000 0 2 1000 --home-affinity >>"$tmp/ch"
  ours 10000 1000 1 2 1000 >>"$tmp/c2"
done
c1=$(awk '{ print $1 }' "$tmp/c1" | median)
printf '| %-46s | %9s | %8s | %8s |\n' configuration Mops/s "vs 1T" "hit rate"
printf '|:-----------------------------------------------|----------:|---------:|---------:|\n'
for row in "1 thread:c1" "2 processes of 1 thread (nothing shared):cp" "2 threads, one index, no key shared:co" \
  "2 threads, keys shared (the workload above):cs" "2 threads, keys shared, home affinity only:ch" \
  "2 threads, keys shared, 1 shard (hit baseline):c2"; do
  f="$tmp/${row##*:}"
  m=$(awk '{ print $1 }' "$f" | median)
  h="-"
  [ -z "$(awk 'NF > 1' "$f")" ] || h=$(awk 'NF > 1 { print $2 }' "$f" | median)
  printf '| %-46s | %9s | %7.2fx | %8s |\n' "${row%:*}" "$m" "$(awk -v m="$m" -v c="$c1" 'BEGIN { print m / c }')" \
    "$h"
done
