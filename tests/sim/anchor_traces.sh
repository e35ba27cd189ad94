#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The seed's unit tests as traces (tests/data/*.trace, from ../shared/anchors):
# `replay --slots -` must print exactly the .expected file for every
# `# args: CAPACITY WARM` line, and the summary must count what happened.
. "$(dirname "$0")/lib.sh"
for t in "$DATA"/*.trace; do
  n="${t%.trace}"
  while read -r cap warm; do
    if "$SIM" replay "$t" --capacity "$cap" --warm "$warm" --slots - 2>"$TMP/sum" >"$TMP/out" &&
       cmp -s "$TMP/out" "$n.expected"; then
      ok "$(basename "$t") cap=$cap warm=$warm"
    else
      fail "$(basename "$t") cap=$cap warm=$warm"; diff "$n.expected" "$TMP/out" | head; cat "$TMP/sum"
    fi
  done < <(sed -n 's/^# args: *//p' "$t")
done

# test_affinity_threshold by hand: 12 allocs, 5 affine hits (id2, then
# id1/id2/id3 and id3 at the end), 4 cold slots 0..3, 3 LRU steals.
"$SIM" replay "$DATA/affinity_threshold.trace" --capacity 10 --warm 2 --json >"$TMP/j" || fail "threshold replay"
for kv in ops=23 alloc_ops=12 allocs=12 affine_hits=5 cold_picks=4 warm_steals=3 failed_allocs=0 \
          frees=11 peak_in_use=3 final_unused_warm=3 peak_unused_warm=4; do
  k=${kv%=*} v=${kv#*=}
  got=$(json "$k" <"$TMP/j")
  [ "$got" = "$v" ] && ok "threshold $k=$v" || fail "threshold $k: got '$got', want $v"
done
# next_available_0: capacity 0, the one alloc fails.
"$SIM" replay "$DATA/next_available_0.trace" --capacity 0 --warm 0 --json >"$TMP/j" || fail "cap 0 replay"
[ "$(json failed_allocs <"$TMP/j")" = 1 ] && ok "capacity 0: failed_allocs=1" || fail "capacity 0: $(cat "$TMP/j")"
# clear_affine: two clears succeed, the third misses.
"$SIM" replay "$DATA/clear_affine.trace" --capacity 100 --warm 1 --json >"$TMP/j" || fail "clear replay"
[ "$(json clears <"$TMP/j")" = 2 ] && [ "$(json clear_misses <"$TMP/j")" = 1 ] &&
  ok "clear_affine: clears=2 clear_misses=1" || fail "clear_affine: $(cat "$TMP/j")"
finish
