#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `sweep` computes all budgets in one pass; every row must equal a separate
# `replay` at that budget, field by field, including traces with clears,
# keyless allocs, bytes, and failed allocs (trace capacity > index capacity).
. "$(dirname "$0")/lib.sh"
check() {  # name, index capacity, sweep --warm spec or --all, gen args...
  local name="$1" cap="$2" spec="$3"; shift 3
  "$SIM" gen "$@" >"$TMP/t" || { fail "$name: gen"; return; }
  if [ "$spec" = all ]; then set -- --all; else set -- --warm "$spec"; fi
  "$SIM" sweep "$TMP/t" --capacity "$cap" "$@" --csv "$TMP/csv" >"$TMP/table" || { fail "$name: sweep"; return; }
  local rows=0 bad=0
  while IFS=, read -r w rate hits keyed cold steals failed pin pwarm pbytes; do
    [ "$w" = budget ] && continue
    rows=$((rows + 1))
    "$SIM" replay "$TMP/t" --capacity "$cap" --warm "$w" --json >"$TMP/j"
    local want="$hits $keyed $cold $steals $failed $pin $pwarm $pbytes"
    local got=""
    for k in affine_hits keyed_allocs cold_picks warm_steals failed_allocs peak_in_use \
             peak_unused_warm peak_unused_bytes_resident; do got="$got $(json $k <"$TMP/j")"; done
    [ "${got# }" = "$want" ] || { bad=1; fail "$name warm=$w: sweep '$want' replay '${got# }'"; }
    grep -qE "^ +$w +[0-9.]+% +$hits +$cold +$steals +$pwarm +$pbytes\$" "$TMP/table" ||
      { bad=1; fail "$name warm=$w: table row differs from CSV"; }
  done <"$TMP/csv"
  [ $bad = 0 ] && [ $rows -gt 0 ] && ok "$name: $rows budgets equal separate replays"
  grep -q "affine hit rate by warm budget" "$TMP/table" || fail "$name: no chart"
}
check "zipf keys"           64 0:64:8 --ops 10000 --keys 40 --zipf 1.1 --capacity 48 --free-prob 0.5 --seed 1
check "clears+nokey+bytes"  32 all    --ops 10000 --keys 20 --zipf 0.8 --capacity 32 --free-prob 0.5 \
      --clear-prob 0.1 --no-key-prob 0.2 --bytes-max 1000000 --seed 2
check "failed allocs"       16 0,1,3,8,16,100 --ops 10000 --keys 10 --zipf 0.5 --capacity 24 --free-prob 0.5 --seed 3
check "many keys"           128 5,50,500 --ops 10000 --keys 5000 --zipf 0.7 --capacity 100 --free-prob 0.55 --seed 4

# docs/SWEEP.md, counterexample: with a `c K` line, more budget, fewer hits.
printf 'a 2\nf 0\na 0\nf 1\na 1\nc 2\na 1\na 0\n' >"$TMP/cex"
"$SIM" sweep "$TMP/cex" --capacity 3 --all --csv "$TMP/csv" >/dev/null
[ "$(cut -d, -f3 "$TMP/csv" | tail -n +2 | tr '\n' ' ')" = "0 0 1 0 " ] &&
  ok "counterexample: hits 0 0 1 0 for W = 0..3" || fail "counterexample: $(cat "$TMP/csv")"
# docs/SWEEP.md, theorem: without `c K` lines, hits never drop as W grows
# (keyless allocs and an exhausted pool included).
for s in 11 12 13; do
  "$SIM" gen --ops 5000 --keys 12 --zipf 0.7 --capacity 24 --no-key-prob 0.2 --free-prob 0.45 --seed $s >"$TMP/t"
  "$SIM" sweep "$TMP/t" --capacity 20 --all --csv "$TMP/csv" >/dev/null
  cut -d, -f3 "$TMP/csv" | tail -n +2 | awk 'NR > 1 && $1 < p { bad = 1 } { p = $1 } END { exit bad }' &&
    ok "no clears, seed $s: hits non-decreasing in W" || fail "no clears, seed $s: $(cut -d, -f1,3 "$TMP/csv" | tr '\n' ' ')"
done
finish
