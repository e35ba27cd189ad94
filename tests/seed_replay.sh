# SPDX-License-Identifier: MIT
# seed_replay.sh: sourced by the tests that replay traces with the seed's
# own replayer. seed_replay_build ANCHORS BIN builds BIN/seed_replay from
# ANCHORS/seed_replay.rs with rustc (once: again only when the source is
# newer) and sets SEED to it; without rustc or the anchors folder the test
# is skipped (exit 77), and a failed build fails it (exit 1).
seed_replay_build() {
  local anchors="$1" bin="$2"
  command -v rustc >/dev/null || { echo "skip: no rustc"; exit 77; }
  [ -f "$anchors/seed_replay.rs" ] || { echo "skip: no $anchors/seed_replay.rs"; exit 77; }
  SEED="$bin/seed_replay"
  if [ ! -x "$SEED" ] || [ "$SEED" -ot "$anchors/seed_replay.rs" ]; then
    rustc -O -C opt-level=3 --edition 2021 "$anchors/seed_replay.rs" -o "$SEED" ||
      { echo "FAIL: rustc"; exit 1; }
  fi
}
