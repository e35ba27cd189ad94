#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A memory pool's recording replayed outside the library: test_mempool_record
# (SP_RECORD_OUT set) records three threads on a one-shard pool of 10 slots
# and writes the recording and the slot the pool served each handle; then
#   pool_replay.sh TEST SIM sim                 slotpool-sim replay --slots
#   pool_replay.sh TEST SIM seed ANCHORS BIN    the seed's seed_replay
# must print the same slots. The seed mode builds seed_replay with rustc
# into BIN and skips (77) without rustc or the anchors folder.
set -uo pipefail
TEST="$1"
SIM="$2"
MODE="$3"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
if [ "$MODE" = seed ]; then
  . "$(dirname "$0")/../seed_replay.sh"
  seed_replay_build "$4" "${5:-$TMP}"
fi
SP_RECORD_OUT="$TMP" "$TEST" >"$TMP/test.log" 2>&1 || { cat "$TMP/test.log"; echo "FAIL: $TEST"; exit 1; }
if [ "$MODE" = seed ]; then
  "$SEED" 10 10 "$TMP/rec.trace" >"$TMP/replayed.txt" || { echo "FAIL: seed_replay"; exit 1; }
  who="seed_replay 10 10"
else
  "$SIM" replay "$TMP/rec.trace" --shards 1 --capacity 10 --warm 10 --slots "$TMP/replayed.txt" \
    >/dev/null || { echo "FAIL: slotpool-sim replay"; exit 1; }
  who="slotpool-sim replay --shards 1 --capacity 10 --warm 10"
fi
n=$(wc -l <"$TMP/served.txt")
if ! cmp -s "$TMP/served.txt" "$TMP/replayed.txt"; then
  echo "FAIL: $who: differs from the slots the pool served ($(cmp "$TMP/served.txt" "$TMP/replayed.txt"))"
  exit 1
fi
echo "ok   $who: $n slots identical to those the pool served"
