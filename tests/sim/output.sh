#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Output: a write that fails (a full disk: /dev/full) makes every command
# fail with exit status 4 and say what could not be written; `--csv -` and
# `--slots -` put their data alone on stdout, the human text on stderr; and
# the exit status table of docs/SIM.md is the one tools/cli.h defines.
. "$(dirname "$0")/lib.sh"
T="$DATA/affinity_threshold.trace"
ROOT="$(cd "$DATA/../.." && pwd)"

full() {  # what, args...: stdout to /dev/full must give exit 4 and a message
  local what="$1"; shift
  "$SIM" "$@" >/dev/full 2>"$TMP/err"; local rc=$?
  if [ $rc -eq 4 ] && grep -q "cannot write .*No space left on device" "$TMP/err"; then ok "$what >/dev/full: exit 4"
  else fail "$what >/dev/full: rc=$rc stderr='$(head -c 300 "$TMP/err")'"; fi
}
full "replay"             replay "$T" --capacity 10 --warm 2
full "replay --json"      replay "$T" --capacity 10 --warm 2 --json
full "replay --slots -"   replay "$T" --capacity 10 --warm 2 --slots -
full "sweep"              sweep "$T" --capacity 10 --all
full "sweep --csv -"      sweep "$T" --capacity 10 --all --csv -
full "mt"                 mt --capacity 16 --warm 2 --threads 1 --ops 100
full "mt --json"          mt --capacity 16 --warm 2 --threads 1 --ops 100 --json
full "gen (small)"        gen --ops 10 --keys 3 --capacity 4 --seed 1
full "gen (large)"        gen --ops 300000 --keys 3 --capacity 4 --seed 1
full "--version"          --version
full "replay --help"      replay --help
full "replay --version"   replay --version

file() {  # what, args...: a FILE flag naming /dev/full or a missing folder
  local what="$1"; shift
  "$SIM" "$@" >/dev/null 2>"$TMP/err"; local rc=$?
  if [ $rc -eq 4 ] && grep -q "cannot" "$TMP/err"; then ok "$what: exit 4"
  else fail "$what: rc=$rc stderr='$(head -c 300 "$TMP/err")'"; fi
}
file "--slots /dev/full"       replay "$T" --capacity 10 --warm 2 --slots /dev/full
file "--slots in no folder"    replay "$T" --capacity 10 --warm 2 --slots "$TMP/no/such/dir/s"
file "--csv /dev/full"         sweep "$T" --capacity 10 --all --csv /dev/full
file "--csv in no folder"      sweep "$T" --capacity 10 --all --csv "$TMP/no/such/dir/c"

# --csv -: stdout is the CSV alone (header, then one row per budget); the
# table, chart and recommendation go to stderr.
"$SIM" sweep "$T" --capacity 10 --warm 0:10:2 --csv - >"$TMP/out" 2>"$TMP/err"; rc=$?
[ $rc -eq 0 ] && [ "$(head -1 "$TMP/out" | cut -d, -f1,2)" = "budget,affine_hit_rate" ] &&
  [ "$(tail -n +2 "$TMP/out" | grep -cvE '^[0-9]+,[0-9.]+(,[0-9]+)+$')" = 0 ] && [ "$(wc -l <"$TMP/out")" = 7 ] &&
  grep -q "^recommended: --warm" "$TMP/err" && grep -q "affine hit rate by warm budget" "$TMP/err" &&
  ok "--csv -: CSV alone on stdout, the rest on stderr" || fail "--csv -: rc=$rc stdout: $(head -3 "$TMP/out")"
# --slots -: the slots alone on stdout, the summary on stderr.
"$SIM" replay "$T" --capacity 10 --warm 2 --slots - --json >"$TMP/out" 2>"$TMP/err"; rc=$?
[ $rc -eq 0 ] && [ "$(grep -cvE '^([0-9]+|-)$' "$TMP/out")" = 0 ] && [ "$(wc -l <"$TMP/out")" = 12 ] &&
  [ -n "$(json affine_hits <"$TMP/err")" ] && ok "--slots -: slots alone on stdout" || fail "--slots -: rc=$rc"

# docs/SIM.md's table ("| N | meaning |" rows under "## Exit status") is
# exactly the SIM_EXIT_* values of tools/cli.h, and --help names them all.
doc=$(sed -n '/^## Exit status/,/^## /p' "$ROOT/docs/SIM.md" | sed -nE 's/^\| *`?([0-9]+)`? *\|.*/\1/p' | sort -n | tr '\n' ' ')
src=$(sed -nE 's/^#define SIM_EXIT_[A-Z]+ ([0-9]+).*/\1/p' "$ROOT/tools/cli.h" | sort -n | tr '\n' ' ')
[ -n "$src" ] && [ "$doc" = "$src" ] && ok "docs/SIM.md exit table = tools/cli.h: $src" ||
  fail "exit codes: docs/SIM.md '$doc', tools/cli.h '$src'"
"$SIM" --help >"$TMP/out"
for code in $src; do
  [ "$code" = 0 ] || grep -q "$code [a-z]" "$TMP/out" || fail "--help does not explain exit status $code"
done
finish
