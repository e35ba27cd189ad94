#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Records four threads on a one-shard index (record_mt, which also checks a
# replay in the library) and replays the recording with
#   replay_check.sh RECORD_MT SIM sim                 slotpool-sim replay --slots
#   replay_check.sh RECORD_MT SIM seed ANCHORS BIN    the seed's seed_replay
# requiring the slot of every handle to be the slot the threads were served.
# The seed mode builds seed_replay with rustc into BIN and skips (77)
# without rustc or the anchors folder.
set -uo pipefail
RECORD_MT="$1"
SIM="$2"
MODE="$3"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
nfail=0 total=0
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }

if [ "$MODE" = seed ]; then
  . "$(dirname "$0")/../seed_replay.sh"
  seed_replay_build "$4" "${5:-$TMP}"
fi

# capacity | warm | threads | ops per thread | calls before the recording starts
for g in "64|16|4|20000|0" "64|0|4|20000|300" "200|200|4|20000|1000" "16|4|3|20000|50"; do
  IFS='|' read -r cap warm nth ops warmup <<<"$g"
  rm -f "$TMP"/*.txt "$TMP"/rec.trace
  "$RECORD_MT" "$TMP" "$cap" "$warm" "$nth" "$ops" "$warmup" || { fail "record_mt $g"; continue; }
  if [ "$MODE" = seed ]; then
    "$SEED" "$cap" "$warm" "$TMP/rec.trace" >"$TMP/replayed.txt" 2>"$TMP/err" ||
      { fail "seed_replay $cap $warm: $(cat "$TMP/err")"; continue; }
    who="seed_replay $cap $warm"
  else
    "$SIM" replay "$TMP/rec.trace" --shards 1 --capacity "$cap" --warm "$warm" \
      --slots "$TMP/replayed.txt" >/dev/null || { fail "slotpool-sim replay $g"; continue; }
    who="slotpool-sim replay --shards 1 --capacity $cap --warm $warm"
  fi
  n=$(wc -l <"$TMP/served.txt")
  if cmp -s "$TMP/served.txt" "$TMP/replayed.txt"; then
    echo "ok   $who: $n slots identical to those served"
    total=$((total + n))
  else
    fail "$who: differs from the slots served ($(cmp "$TMP/served.txt" "$TMP/replayed.txt"))"
  fi
done
echo "compared $total slots"
if [ "$nfail" -ne 0 ]; then echo "$nfail check(s) failed"; exit 1; fi
echo "all checks passed"
