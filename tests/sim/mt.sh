#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mt`: threads share one index; the JSON has mops > 0 and an affine hit rate
# in [0, 1] that is affine_hits / keyed_allocs; every op of every thread ran
# (keyed allocs = allocs that the streams asked for); --shards > 1 either works
# (once the library shards) or fails cleanly with the library's message.
. "$(dirname "$0")/lib.sh"
OPS="${MT_OPS:-20000}"
"$SIM" mt --capacity 64 --warm 8 --threads 2 --ops "$OPS" --keys 50 --zipf 1.0 --seed 3 --repeat 2 --json >"$TMP/j" ||
  fail "mt run"
for k in mops affine_hit_rate affine_hits keyed_allocs failed_allocs threads ops_total best_secs; do
  [ -n "$(json $k <"$TMP/j")" ] && ok "field $k" || fail "no field $k in $(cat "$TMP/j")"
done
awk -v m="$(json mops <"$TMP/j")" -v r="$(json affine_hit_rate <"$TMP/j")" \
    -v h="$(json affine_hits <"$TMP/j")" -v k="$(json keyed_allocs <"$TMP/j")" -v o="$(json ops_total <"$TMP/j")" \
    'BEGIN { exit !(m > 0 && r >= 0 && r <= 1 && k > 0 && k < o && (r - h / k) < 1e-6 && (h / k - r) < 1e-6) }' &&
  ok "mops > 0, rate = hits / keyed allocs" || fail "values: $(cat "$TMP/j")"
[ "$(json ops_total <"$TMP/j")" = $((2 * OPS)) ] && ok "ops_total" || fail "ops_total"
# With a single thread the run is deterministic: the same hits twice.
"$SIM" mt --capacity 32 --warm 4 --threads 1 --ops 5000 --keys 20 --seed 9 --json >"$TMP/a"
"$SIM" mt --capacity 32 --warm 4 --threads 1 --ops 5000 --keys 20 --seed 9 --json >"$TMP/b"
[ "$(json affine_hits <"$TMP/a")" = "$(json affine_hits <"$TMP/b")" ] && [ "$(json failed_allocs <"$TMP/a")" = 0 ] &&
  ok "one thread: deterministic, no failed allocs" || fail "one thread: $(cat "$TMP/a" "$TMP/b")"
# --own-keys offsets thread t's keys by t * K: thread 0 keeps keys 1..K, so
# one thread runs exactly as without it, and the JSON says which it was.
"$SIM" mt --capacity 32 --warm 4 --threads 1 --ops 5000 --keys 20 --seed 9 --own-keys --json >"$TMP/c"
[ "$(json affine_hits <"$TMP/c")" = "$(json affine_hits <"$TMP/a")" ] && grep -q '"own_keys":true' "$TMP/c" &&
  grep -q '"own_keys":false' "$TMP/a" && ok "--own-keys: thread 0 unchanged, reported" ||
  fail "--own-keys: $(cat "$TMP/a" "$TMP/c")"
"$SIM" mt --capacity 64 --warm 8 --threads 2 --ops 1000 --keys 10 --own-keys --json >"$TMP/j" &&
  [ "$(json failed_allocs <"$TMP/j")" = 0 ] && ok "--own-keys, 2 threads" || fail "--own-keys, 2 threads: $(cat "$TMP/j")"
# --home-affinity reaches the library: reported, and with one shard the
# same hits as without (the flag only acts across shards).
"$SIM" mt --capacity 32 --warm 4 --threads 1 --ops 5000 --keys 20 --seed 9 --shards 1 --json >"$TMP/d"
"$SIM" mt --capacity 32 --warm 4 --threads 1 --ops 5000 --keys 20 --seed 9 --shards 1 --home-affinity --json >"$TMP/e"
[ "$(json affine_hits <"$TMP/d")" = "$(json affine_hits <"$TMP/e")" ] && grep -q '"home_affinity":true' "$TMP/e" &&
  grep -q '"home_affinity":false' "$TMP/d" && ok "--home-affinity: reported, inert with one shard" ||
  fail "--home-affinity: $(cat "$TMP/d" "$TMP/e")"
"$SIM" mt --capacity 64 --warm 8 --threads 2 --ops 1000 --shards 4 --json >"$TMP/j" 2>"$TMP/err"; rc=$?
if [ $rc -eq 0 ]; then [ -n "$(json mops <"$TMP/j")" ] && ok "--shards 4 runs" || fail "--shards 4 output"
elif [ $rc -eq 1 ] && grep -q "shards 4: invalid argument" "$TMP/err"; then ok "--shards 4 refused by the library (exit 1)"
else fail "--shards 4: rc=$rc $(cat "$TMP/err")"; fi
"$SIM" mt --capacity 64 --warm 8 --threads 2 --ops 1000 | grep -q '^impl=slotpool threads=2 .* mops=' &&
  ok "text output" || fail "text output"
finish
