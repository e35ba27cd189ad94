# SPDX-License-Identifier: MIT
# bench_lib.sh: shared by the benchmark scripts (sourced, not run).
# After `source bench/bench_lib.sh`: $tmp (removed on exit), `median` (of the
# numbers on stdin), and `find_seed`, which sets $seed to the seed replayer:
# $SEED_REPLAY when set, else one built from ../shared/anchors into $tmp when
# rustc is there, else empty.

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

find_seed() {
  local anchors
  anchors="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/../shared/anchors"
  seed=""
  if [ -n "${SEED_REPLAY:-}" ] && [ -x "$SEED_REPLAY" ]; then
    seed="$SEED_REPLAY"
  elif [ -f "$anchors/seed_replay.rs" ] && { command -v rustc >/dev/null || [ -x "$HOME/.cargo/bin/rustc" ]; }; then
    if ANCHOR_BIN="$tmp/anchor" "$anchors/build.sh" >/dev/null 2>&1; then seed="$tmp/anchor/seed_replay"; fi
  fi
}
