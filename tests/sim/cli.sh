#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Command-line conventions, the same for every command (one getopt_long
# parser): --flag=value and --flag value alike, flags and TRACE in any order,
# `--` before a TRACE that starts with '-', `-` for stdin; --version (top
# level and per command) prints the library's version; a repeated flag, an
# unknown or abbreviated flag, a value given to a switch and a missing value
# are errors (exit 2) that name the flag. $3 = the project's version.
. "$(dirname "$0")/lib.sh"
VERSION="$3"
T="$DATA/affinity_threshold.trace"

run() {  # expected status, stderr substring (or ''), args...
  local want="$1" msg="$2"; shift 2
  "$SIM" "$@" >"$TMP/out" 2>"$TMP/err"; local rc=$?
  if [ $rc -eq "$want" ] && { [ -z "$msg" ] || grep -qF -- "$msg" "$TMP/err"; }; then ok "$*"
  else fail "$*: rc=$rc (want $want) stderr='$(head -c 300 "$TMP/err")' want '$msg'"; fi
}

# --version: one line, the library's version, exit 0, before any other check.
"$SIM" --version >"$TMP/v" 2>"$TMP/err"; rc=$?
[ $rc -eq 0 ] && [ "$(cat "$TMP/v")" = "slotpool-sim $VERSION" ] && [ ! -s "$TMP/err" ] &&
  ok "--version: slotpool-sim $VERSION" || fail "--version: rc=$rc '$(cat "$TMP/v" "$TMP/err")'"
for cmd in replay gen sweep mt; do
  "$SIM" $cmd --version >"$TMP/v" 2>&1 && [ "$(cat "$TMP/v")" = "slotpool-sim $VERSION" ] &&
    ok "$cmd --version" || fail "$cmd --version: '$(cat "$TMP/v")'"
  "$SIM" $cmd --capacity 3 --help >"$TMP/v" 2>"$TMP/err" && grep -q "^usage: slotpool-sim $cmd" "$TMP/v" &&
    [ ! -s "$TMP/err" ] && ok "$cmd --help after a flag: usage on stdout, exit 0" || fail "$cmd --help"
done

# --flag=value is --flag value; flags before or after TRACE; `-` is stdin.
"$SIM" replay "$T" --capacity 10 --warm 2 --slots - --json >"$TMP/a" 2>/dev/null
"$SIM" replay --capacity=10 --warm=2 --slots=- --json "$T" >"$TMP/b" 2>/dev/null
"$SIM" replay --json --slots - - --capacity 10 --warm=2 <"$T" >"$TMP/c" 2>/dev/null
[ -s "$TMP/a" ] && cmp -s "$TMP/a" "$TMP/b" && cmp -s "$TMP/a" "$TMP/c" &&
  ok "--flag=value, --flag value, any order, stdin: same slots" || fail "forms differ"
"$SIM" gen --ops=50 --keys=3 --capacity=4 --seed=9 >"$TMP/a" && "$SIM" gen --seed 9 --capacity 4 --keys 3 --ops 50 >"$TMP/b" &&
  cmp -s "$TMP/a" "$TMP/b" && ok "gen: --flag=value" || fail "gen: --flag=value"
"$SIM" sweep "$T" --capacity=10 --warm=0:4:2 --csv="$TMP/c1" >/dev/null && "$SIM" sweep "$T" --capacity 10 --warm 0:4:2 --csv "$TMP/c2" >/dev/null &&
  cmp -s "$TMP/c1" "$TMP/c2" && ok "sweep: --flag=value" || fail "sweep: --flag=value"
"$SIM" mt --capacity=16 --warm=2 --threads=1 --ops=500 --seed=3 --json >"$TMP/a" &&
  "$SIM" mt --capacity 16 --warm 2 --threads 1 --ops 500 --seed 3 --json >"$TMP/b" &&
  [ "$(json affine_hits <"$TMP/a")" = "$(json affine_hits <"$TMP/b")" ] && ok "mt: --flag=value" || fail "mt: --flag=value"
# A TRACE whose name starts with '-': after `--` only.
cp "$T" "$TMP/-x.trace"
(cd "$TMP" && "$SIM" replay --capacity 10 --warm 2 --slots - -- -x.trace) >"$TMP/b" 2>/dev/null &&
  "$SIM" replay "$T" --capacity 10 --warm 2 --slots - >"$TMP/a" 2>/dev/null && cmp -s "$TMP/a" "$TMP/b" &&
  ok "-- before a TRACE named -x.trace" || fail "-- before -x.trace"
(cd "$TMP" && "$SIM" replay --capacity 10 --warm 2 -x.trace) >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -qF "unknown flag '-x'" "$TMP/err" && ok "-x.trace without --: unknown flag '-x'" ||
  fail "-x.trace without --: rc=$rc $(cat "$TMP/err")"

# A flag given twice is an error naming it (it used to keep the last value).
run 2 "--warm given twice" replay "$T" --capacity 10 --warm 2 --warm 3
run 2 "--capacity given twice" replay "$T" --capacity=10 --warm 2 --capacity 10
run 2 "--json given twice" replay "$T" --capacity 10 --warm 2 --json --json
run 2 "--seed given twice" gen --ops 5 --keys 2 --capacity 2 --seed 1 --seed 2
run 2 "--csv given twice" sweep "$T" --capacity 10 --all --csv "$TMP/x" --csv "$TMP/y"
run 2 "--threads given twice" mt --capacity 10 --warm 1 --threads 1 --threads 2 --ops 10
# Unknown flags, named as given; no abbreviations (a later flag must not
# change what an old command line means).
run 2 "unknown flag '--frob'" replay "$T" --capacity 10 --warm 2 --frob=1
run 2 "unknown flag '--cap'" replay "$T" --cap 10 --warm 2
run 2 "unknown flag '--war'" sweep "$T" --capacity 10 --war=1
run 2 "unknown flag '-z'" mt -z --capacity 10 --warm 1 --threads 1 --ops 10
run 2 "unknown flag '--plot'" replay "$T" --capacity 10 --warm 2 --plot x.svg
# Values: a switch takes none, a flag at the end lacks one.
run 2 "--json takes no value" replay "$T" --capacity 10 --warm 2 --json=yes
run 2 "--all takes no value" sweep "$T" --capacity 10 --all=1
run 2 "--slots needs a value" replay "$T" --capacity 10 --warm 2 --slots
run 2 "--capacity: bad value ''" replay "$T" --capacity= --warm 2
run 2 "--zipf: bad value 'x'" gen --ops 5 --keys 2 --capacity 2 --seed 1 --zipf=x
finish
