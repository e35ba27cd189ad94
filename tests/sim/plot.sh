#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# sweep --plot FILE.svg with the real gnuplot (skips, exit 77, without it:
# Debian package gnuplot-nox): an SVG with both curves and the knee marked at
# the recommended budget; `--plot -` puts the SVG alone on stdout; file and
# trace names full of quotes, `$(...)` and backquotes are only names.
. "$(dirname "$0")/lib.sh"
command -v gnuplot >/dev/null || { echo "skip: gnuplot is not installed (apt-get install gnuplot-nox)"; exit 77; }

svg_ok() {  # file: a whole SVG document
  head -c 200 "$1" | grep -q '<svg' && tail -c 20 "$1" | grep -q '</svg>'
}
"$SIM" gen --ops 20000 --keys 50 --zipf 1.1 --capacity 64 --free-prob 0.55 --bytes-max 1048576 --seed 1 >"$TMP/w.trace"
"$SIM" sweep "$TMP/w.trace" --capacity 64 --warm 0:64:4 --plot "$TMP/p.svg" >"$TMP/out" 2>"$TMP/err"; rc=$?
k=$(tail -1 "$TMP/out" | sed -nE 's/^recommended: --warm ([0-9]+) .*/\1/p')
if [ $rc -eq 0 ] && svg_ok "$TMP/p.svg" && [ -n "$k" ] && grep -q "knee: --warm $k, hit rate" "$TMP/p.svg" &&
   grep -q "affine hit rate" "$TMP/p.svg" && grep -q "peak resident bytes" "$TMP/p.svg"; then
  ok "--plot: SVG, hit rate and peak resident bytes, knee at --warm $k"
else fail "--plot: rc=$rc knee '$k' $(head -c 300 "$TMP/err")"; fi
grep -q "^recommended:" "$TMP/out" && grep -q "affine hit rate by warm budget" "$TMP/out" &&
  ok "--plot FILE: the table and chart still on stdout" || fail "--plot FILE: stdout"
# Without bytes in the trace the right axis counts warm slots.
"$SIM" gen --ops 5000 --keys 30 --capacity 32 --seed 2 >"$TMP/n.trace"
"$SIM" sweep "$TMP/n.trace" --capacity 32 --all --plot "$TMP/n.svg" >/dev/null 2>&1 && svg_ok "$TMP/n.svg" &&
  grep -q "peak unused warm slots" "$TMP/n.svg" && ok "--plot, no bytes: warm slots on the right axis" || fail "--plot, no bytes"

# --plot -: stdout is the SVG alone.
"$SIM" sweep "$TMP/w.trace" --capacity 64 --warm 0:64:8 --plot - >"$TMP/s.svg" 2>"$TMP/err"; rc=$?
[ $rc -eq 0 ] && svg_ok "$TMP/s.svg" && [ "$(head -c 5 "$TMP/s.svg")" = "<?xml" ] && grep -q "^recommended:" "$TMP/err" &&
  ok "--plot -: the SVG alone on stdout" || fail "--plot -: rc=$rc"

# Names are data, never commands or gnuplot syntax (run in $TMP, so that
# a command that did run would leave a pwned* file there).
SIMA="$(cd "$(dirname "$SIM")" && pwd)/$(basename "$SIM")"
evil="a'b\"c \$(touch pwned1) \`touch pwned2\`; set output 'x'; system(\"touch pwned3\").svg"
trace="t'\"\$(touch pwned4)\`x\`.trace"
cp "$TMP/w.trace" "$TMP/$trace"
(cd "$TMP" && "$SIMA" sweep "$trace" --capacity 64 --warm 0:64:16 --plot "$evil") >/dev/null 2>"$TMP/err"; rc=$?
if [ $rc -eq 0 ] && svg_ok "$TMP/$evil" && ! ls "$TMP"/pwned* >/dev/null 2>&1 && [ ! -e "$TMP/x" ]; then
  ok "quotes, \$(...), backquotes in names: plain names"
else fail "names: rc=$rc $(ls "$TMP") $(head -c 300 "$TMP/err")"; fi
finish
