#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What `sweep` concludes: its last line recommends the knee (the smallest
# budget that reaches 90% of the gain in hit rate, recomputed here from the
# CSV), with its hit rate and peak resident memory; comment lines such as
# `# t=123456` between operations change nothing; budgets come out sorted,
# each once. --plot without gnuplot (or with a gnuplot that fails) has exit
# status 5, before any work when gnuplot is missing; the stand-ins for
# gnuplot here need no gnuplot installed (tests/sim/plot.sh draws for real).
. "$(dirname "$0")/lib.sh"

# The knee from a CSV: budget of the first row whose hits/keyed reaches
# base + 0.9 * (best - base), base the first row's.
knee() {
  awk -F, 'NR > 1 { n++; w[n] = $1; r[n] = $4 ? $3 / $4 : 0 }
           END { b = r[1]; h = b; for (i = 1; i <= n; i++) if (r[i] > h) h = r[i]
                 for (i = 1; i <= n; i++) if (r[i] >= b + 0.9 * (h - b)) { print w[i]; exit } }' "$1"
}
check() {  # name, sweep budget spec, gen args...
  local name="$1" spec="$2"; shift 2
  "$SIM" gen "$@" >"$TMP/t"
  "$SIM" sweep "$TMP/t" --capacity 64 --warm "$spec" --csv "$TMP/csv" >"$TMP/out" 2>/dev/null || { fail "$name: sweep"; return; }
  local last k
  last=$(tail -1 "$TMP/out"); k=$(knee "$TMP/csv")
  if [[ "$last" =~ ^recommended:\ --warm\ $k\ \(hit\ rate\ [0-9.]+,\ 90%\ of\ the\ gain\ from\ [0-9.]+\ at\ --warm\ [0-9]+\ to\ [0-9.]+\;\ (peak\ resident\ [0-9.]+\ [KMGT]?i?B|peak\ [0-9]+\ unused\ warm\ slots)\) ]]; then
    ok "$name: $last"
  else fail "$name: knee $k, last line '$last'"; fi
  grep -q "<- 90% of the gain" "$TMP/out" && [ "$(grep -- '<- 90% of the gain' "$TMP/out" | awk '{print $1}')" = "$k" ] ||
    fail "$name: chart marks another knee than $k"
}
check "bytes"    0:64:4 --ops 20000 --keys 50 --zipf 1.1 --capacity 64 --free-prob 0.55 --bytes-max 1048576 --seed 1
check "no bytes" 0:64:2 --ops 20000 --keys 80 --zipf 0.9 --capacity 64 --free-prob 0.5 --seed 2
grep -q "peak [0-9]* unused warm slots" "$TMP/out" && ok "no bytes: the cost in warm slots" || fail "no bytes: $(tail -1 "$TMP/out")"

# The recorded trace of a user, with timestamps as comments: same results.
"$SIM" gen --ops 5000 --keys 20 --capacity 32 --seed 5 --bytes-max 65536 >"$TMP/t"
awk '!/^#/ { printf "# t=%d\n", 1000000 + NR * 37 } { print } NR % 7 == 0 { print "   # t=" NR " (indented)" }' "$TMP/t" >"$TMP/tc"
[ "$(grep -c '^# t=' "$TMP/tc")" -gt 4000 ] || fail "comment trace not built"
"$SIM" sweep "$TMP/t" --capacity 32 --all --csv "$TMP/a" >/dev/null && "$SIM" sweep "$TMP/tc" --capacity 32 --all --csv "$TMP/b" >/dev/null &&
  cmp -s "$TMP/a" "$TMP/b" && ok "'# t=...' comment lines: the same sweep" || fail "comment lines change the sweep"
"$SIM" replay "$TMP/t" --capacity 32 --warm 4 --slots "$TMP/a" >/dev/null && "$SIM" replay "$TMP/tc" --capacity 32 --warm 4 --slots "$TMP/b" >/dev/null &&
  cmp -s "$TMP/a" "$TMP/b" && ok "'# t=...' comment lines: the same slots" || fail "comment lines change the slots"

# Budgets sorted and each once, whatever the order given.
T="$DATA/affinity_threshold.trace"
"$SIM" sweep "$T" --capacity 10 --warm 8,0,3,3,1 --csv "$TMP/csv" >"$TMP/out"
[ "$(cut -d, -f1 "$TMP/csv" | tail -n +2 | tr '\n' ' ')" = "0 1 3 8 " ] && ok "--warm 8,0,3,3,1: rows 0 1 3 8" ||
  fail "budget order: $(cut -d, -f1 "$TMP/csv" | tr '\n' ' ')"
[ "$(tail -1 "$TMP/out")" = "recommended: --warm 3 (hit rate 0.500, 90% of the gain from 0.167 at --warm 0 to 0.500; peak 5 unused warm slots)" ] &&
  ok "affinity_threshold: --warm 3" || fail "affinity_threshold: $(tail -1 "$TMP/out")"
# No recommendation from one budget; the smallest when more buys nothing.
"$SIM" sweep "$T" --capacity 10 --warm 4 >"$TMP/out"
tail -1 "$TMP/out" | grep -q "^no recommendation: one budget tried (--warm 4)" && ok "one budget: no recommendation" ||
  fail "one budget: $(tail -1 "$TMP/out")"
"$SIM" sweep "$T" --capacity 10 --warm 3:10:1 >"$TMP/out"
tail -1 "$TMP/out" | grep -q "^recommended: --warm 3 (hit rate 0.500, and no larger budget tried does better" &&
  ok "flat curve: the smallest budget" || fail "flat: $(tail -1 "$TMP/out")"
"$SIM" gen --ops 3000 --keys 300 --zipf 0 --capacity 64 --seed 3 >"$TMP/t"
"$SIM" sweep "$TMP/t" --capacity 64 --warm 0:8:2 >"$TMP/out"
tail -1 "$TMP/out" | grep -q "; the largest budget tried: larger ones may gain more$" && ok "still rising: says so" ||
  fail "still rising: $(tail -1 "$TMP/out")"

# --plot without gnuplot: exit 5 before reading the trace (/dev/zero would be
# exit 2), no file, and how to install it.
PATH="$TMP/none" "$SIM" sweep /dev/zero --capacity 10 --all --plot "$TMP/p.svg" >"$TMP/out" 2>"$TMP/err"; rc=$?
[ $rc -eq 5 ] && grep -q "gnuplot is not installed.*apt-get install gnuplot-nox" "$TMP/err" && [ ! -e "$TMP/p.svg" ] &&
  ok "--plot, no gnuplot: exit 5 at once, says to install gnuplot-nox" || fail "no gnuplot: rc=$rc $(cat "$TMP/err")"
# Stand-ins: a gnuplot that fails, one that draws nothing, one that draws.
mkdir -p "$TMP/bin"
stub() { printf '#!/bin/sh\ncat >/dev/null\n%s\n' "$1" >"$TMP/bin/gnuplot"; chmod +x "$TMP/bin/gnuplot"; }
stub 'echo "line 3: bad" >&2; exit 1'
PATH="$TMP/bin:$PATH" "$SIM" sweep "$T" --capacity 10 --all --plot "$TMP/p.svg" >"$TMP/out" 2>"$TMP/err"; rc=$?
[ $rc -eq 5 ] && grep -q "gnuplot failed (exit status 1)" "$TMP/err" && grep -q "^recommended:" "$TMP/out" &&
  ok "gnuplot fails: exit 5, table still printed" || fail "gnuplot fails: rc=$rc $(cat "$TMP/err")"
stub 'exit 0'
PATH="$TMP/bin:$PATH" "$SIM" sweep "$T" --capacity 10 --all --plot "$TMP/p.svg" >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 5 ] && grep -q "gnuplot wrote no picture" "$TMP/err" && ok "gnuplot draws nothing: exit 5" ||
  fail "empty picture: rc=$rc $(cat "$TMP/err")"
stub 'echo "<svg>stub</svg>"'
PATH="$TMP/bin:$PATH" "$SIM" sweep "$T" --capacity 10 --all --plot "$TMP/p.svg" >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 0 ] && [ "$(cat "$TMP/p.svg")" = "<svg>stub</svg>" ] && ok "the picture goes to FILE" || fail "stub: rc=$rc $(cat "$TMP/err")"
PATH="$TMP/bin:$PATH" "$SIM" sweep "$T" --capacity 10 --all --plot /dev/full >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 4 ] && grep -q "cannot write /dev/full" "$TMP/err" && ok "--plot /dev/full: exit 4" || fail "--plot /dev/full: rc=$rc $(cat "$TMP/err")"
finish
