#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Differential test against the seed: builds seed_replay from $3 (the anchors
# folder) with rustc, generates traces with `slotpool-sim gen` over a grid of
# flags, and requires `replay --slots -` to be byte-identical to seed_replay's
# output and the affine_hits to agree. Skips (77) without rustc or anchors.
# SEED_DIFF_OPS (default 20000) sets ops per trace, SEED_DIFF_ROUNDS (default 1)
# how many times the grid runs with fresh seeds: the CTest run is small, a
# manual run can compare millions of ops:
#   SEED_DIFF_OPS=200000 SEED_DIFF_ROUNDS=4 tests/sim/seed_diff.sh SIM tests/data ../shared/anchors [BIN]
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../seed_replay.sh"
seed_replay_build "$3" "${4:-$TMP}"
OPS="${SEED_DIFF_OPS:-20000}"
ROUNDS="${SEED_DIFF_ROUNDS:-1}"
total=0 n=0
# trace capacity | index capacity | warm budgets | other gen flags
grid=(
  "64|64|0 8 64|--keys 40 --zipf 1.1"
  "100|60|0 5 30 60|--keys 1000 --zipf 0.8 --clear-prob 0.05"
  "300|300|0 30 300 1000|--keys 100000 --zipf 0.6 --no-key-prob 0.2 --bytes-max 65536"
  "50|50|0 1 2 50|--keys 5 --zipf 0 --free-prob 0.6 --clear-prob 0.2 --no-key-prob 0.2"
  "1000|1000|0 100 1000|--keys 10 --zipf 1.0"
  "20|16|0 4 16|--keys 8 --zipf 1.5 --free-prob 0.4 --clear-prob 0.1"
  "256|256|0 13 128|--keys 50 --zipf 1.2 --no-key-prob 0.3 --free-prob 0.5"
  "2|2|0 1 2|--keys 3 --zipf 0.5 --clear-prob 0.3"
)
for r in $(seq 1 "$ROUNDS"); do
  for g in "${grid[@]}"; do
    IFS='|' read -r tcap cap warms flags <<<"$g"
    seed=$((r * 1000 + n))
    # shellcheck disable=SC2086
    "$SIM" gen --ops "$OPS" --capacity "$tcap" --seed "$seed" $flags >"$TMP/t" || { fail "gen $flags"; continue; }
    for w in $warms; do
      "$SEED" "$cap" "$w" "$TMP/t" >"$TMP/seed.out" 2>"$TMP/seed.err" || { fail "seed_replay $cap $w"; continue; }
      "$SIM" replay "$TMP/t" --capacity "$cap" --warm "$w" --slots "$TMP/sim.out" --json >"$TMP/j" ||
        { fail "replay $cap $w"; continue; }
      sh=$(sed -n 's/.*affine_hits=\([0-9]*\).*/\1/p' "$TMP/seed.err")
      if cmp -s "$TMP/seed.out" "$TMP/sim.out" && [ "$sh" = "$(json affine_hits <"$TMP/j")" ]; then
        total=$((total + OPS))
      else
        fail "differs: gen --ops $OPS --capacity $tcap --seed $seed $flags | replay --capacity $cap --warm $w"
      fi
    done
    n=$((n + 1))
  done
done
echo "compared $total ops (traces x budgets) byte for byte with seed_replay"
finish
