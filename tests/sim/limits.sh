#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The library's limits are said in words when it refuses a configuration
# (exit 1): capacity at most 2^30 (SP_INDEX_MAX_CAPACITY), at most 64 shards
# (SP_INDEX_MAX_SHARDS) and at most one per slot. Results that mean nothing
# come with a warning: an empty trace, a trace without `a KEY` lines, `mt`
# with fewer slots than threads, a budget above the capacity. `replay` and
# `mt` report the shard count the index uses, not the flag.
. "$(dirname "$0")/lib.sh"
T="$DATA/affinity_threshold.trace"

run() {  # expected status, stderr substring, args...
  local want="$1" msg="$2"; shift 2
  "$SIM" "$@" >"$TMP/out" 2>"$TMP/err"; local rc=$?
  if [ $rc -eq "$want" ] && grep -qF -- "$msg" "$TMP/err"; then ok "$* -> $msg"
  else fail "$*: rc=$rc (want $want) stderr='$(head -c 300 "$TMP/err")' want '$msg'"; fi
}
run 1 "the capacity is at most 1073741824 slots (2^30)" replay "$T" --capacity 1073741825 --warm 1
run 1 "the capacity is at most 1073741824 slots (2^30)" sweep "$T" --capacity 4294967295 --warm 0,1
run 1 "the capacity is at most 1073741824 slots (2^30)" mt --capacity 2000000000 --warm 1 --threads 1 --ops 10
run 1 "at most 64 shards" replay "$T" --capacity 1000 --warm 1 --shards 65
run 1 "at most 64 shards" mt --capacity 1000 --warm 1 --threads 1 --ops 10 --shards 100
run 1 "at most one shard per slot (11 shards for capacity 10)" replay "$T" --capacity 10 --warm 1 --shards 11
run 1 "at most one shard per slot (8 shards for capacity 4)" sweep "$T" --capacity 4 --all --shards 8
run 1 "an index of capacity 0 has at most 1 shard" replay "$T" --capacity 0 --warm 0 --shards 2
run 2 "want 0..1073741824, the library's largest capacity" gen --ops 1 --keys 1 --capacity 1073741825 --seed 1
# Refused before the trace is read: /dev/zero would be exit 2.
run 1 "at most 64 shards" sweep /dev/zero --capacity 1000 --warm 1,2 --shards 65

# Empty traces (nothing, or comments only) and traces without `a KEY` lines.
: >"$TMP/empty.trace"
printf '# t=1\n\n   # t=2\n' >"$TMP/comments.trace"
for e in empty comments; do
  run 0 "warning: $TMP/$e.trace has no operations" replay "$TMP/$e.trace" --capacity 4 --warm 1 --json
  [ "$(json ops <"$TMP/out")" = 0 ] || fail "$e: replay summary"
  run 0 "warning: $TMP/$e.trace has no operations" sweep "$TMP/$e.trace" --capacity 4 --all --csv "$TMP/csv"
  if grep -q '%' "$TMP/out" || ! grep -q "^no recommendation: the trace has no operations" "$TMP/out" ||
     [ "$(wc -l <"$TMP/csv")" != 1 ]; then fail "$e: sweep shows results: $(cat "$TMP/out")"
  else ok "$e: sweep prints no 0% table, no chart, a header-only CSV"; fi
done
printf 'a -\na -\nf 0\na -\n' >"$TMP/nokey.trace"
run 0 "has no 'a KEY' line" replay "$TMP/nokey.trace" --capacity 4 --warm 1
run 0 "has no 'a KEY' line" sweep "$TMP/nokey.trace" --capacity 4 --all
grep -q "affine hit rate by warm budget" "$TMP/out" && fail "nokey: chart of a hit rate that means nothing" ||
  ok "nokey: no chart"

# mt: fewer slots than threads; budgets above the capacity.
run 0 "--capacity 2 is below --threads 4" mt --capacity 2 --warm 1 --threads 4 --ops 200
run 0 "--warm 20 is above --capacity 10, so it acts as 10" replay "$T" --capacity 10 --warm 20
run 0 "--warm 99 is above --capacity 10, so it acts as 10" mt --capacity 10 --warm 99 --threads 1 --ops 10
"$SIM" mt --capacity 16 --warm 1 --threads 4 --ops 200 >/dev/null 2>"$TMP/err"
[ ! -s "$TMP/err" ] && ok "mt: no warning with enough slots" || fail "mt warns: $(cat "$TMP/err")"

# The shard count the index uses: --shards 0 picks one (never 0); below 128
# slots it is 1; and it is what was asked for when given.
"$SIM" replay "$T" --capacity 1000 --warm 1 --shards 0 --json >"$TMP/j"
s=$(json shards <"$TMP/j")
[ -n "$s" ] && [ "$s" -ge 1 ] && [ "$s" -le 16 ] && ok "replay --shards 0: json shards=$s (the index's)" ||
  fail "replay --shards 0: shards '$s'"
"$SIM" replay "$T" --capacity 100 --warm 1 --shards 0 --json >"$TMP/j"
[ "$(json shards <"$TMP/j")" = 1 ] && ok "replay --shards 0, capacity 100: shards=1" || fail "capacity 100: $(cat "$TMP/j")"
"$SIM" replay "$T" --capacity 1000 --warm 1 --shards 3 >"$TMP/j"
grep -qE '^shards +3$' "$TMP/j" && ok "replay --shards 3: shards 3" || fail "--shards 3: $(cat "$TMP/j")"
"$SIM" mt --capacity 1000 --warm 1 --threads 1 --ops 100 --shards 0 --json >"$TMP/j"
s=$(json shards <"$TMP/j")
[ -n "$s" ] && [ "$s" -ge 1 ] && ok "mt --shards 0: json shards=$s" || fail "mt --shards 0: '$s'"
finish
