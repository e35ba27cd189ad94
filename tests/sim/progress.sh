#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Long runs show progress with the time left, on stderr, when it is a
# terminal: `sweep`, `replay --repeat`, `mt --repeat`. Run on a pseudo
# terminal by `script` (util-linux; skips, exit 77, without it). Without a
# terminal, nothing: stderr stays clean for logs.
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || { echo "skip: no script(1) (util-linux) for a terminal"; exit 77; }

# Work for about a second (more under sanitizers): progress waits a quarter
# of a second before its first line, so short runs stay silent.
"$SIM" gen --ops 400000 --keys 300 --capacity 256 --free-prob 0.55 --seed 4 >"$TMP/t"
onpty() { script -qec "$1" /dev/null </dev/null >"$TMP/pty" 2>&1; }
onpty "'$SIM' sweep '$TMP/t' --capacity 256 --warm 0:256:4 >/dev/null"
grep -qaE 'sweep: +[0-9]+% \(ETA [0-9]+:[0-9][0-9]\)' "$TMP/pty" && ok "sweep on a terminal: percent and ETA" ||
  fail "sweep on a terminal: '$(tr '\r' '|' <"$TMP/pty" | head -c 300)'"
onpty "'$SIM' replay '$TMP/t' --capacity 256 --warm 16 --repeat 40 >/dev/null"
grep -qaE 'replay: +[0-9]+% \(ETA [0-9]+:[0-9][0-9]\)' "$TMP/pty" && ok "replay --repeat on a terminal: ETA" ||
  fail "replay --repeat on a terminal: '$(tr '\r' '|' <"$TMP/pty" | head -c 300)'"
onpty "'$SIM' mt --capacity 64 --warm 8 --threads 1 --ops 2000000 --repeat 8 >/dev/null"
grep -qaE 'mt: +[0-9]+% \(ETA [0-9]+:[0-9][0-9]\)' "$TMP/pty" && ok "mt --repeat on a terminal: ETA" ||
  fail "mt --repeat on a terminal: '$(tr '\r' '|' <"$TMP/pty" | head -c 300)'"
# Not a terminal: no progress at all.
"$SIM" sweep "$TMP/t" --capacity 256 --warm 0:256:4 >/dev/null 2>"$TMP/err"
[ ! -s "$TMP/err" ] && ok "stderr not a terminal: no progress" || fail "progress without a terminal: $(head -c 100 "$TMP/err")"
finish
