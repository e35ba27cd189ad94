#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `gen`: the same arguments give the same bytes (pinned by a hash, so a change
# of generator is deliberate), another seed gives another trace, the trace is
# valid (the parser accepts it: only live handles freed), and it never keeps
# more than C handles live (a replay at capacity C never fails an `a` line).
. "$(dirname "$0")/lib.sh"
G=(gen --ops 20000 --keys 30 --capacity 40 --zipf 0.9 --free-prob 0.45 --clear-prob 0.05
   --no-key-prob 0.1 --bytes-max 100000 --seed 7)
"$SIM" "${G[@]}" >"$TMP/a" && "$SIM" "${G[@]}" >"$TMP/b" || fail "gen failed"
cmp -s "$TMP/a" "$TMP/b" && ok "deterministic" || fail "two runs differ"
sha=$(sha256sum <"$TMP/a" | cut -d' ' -f1)
want=0f1e7b0d49ecd73e0f1941059fa5a5fffef653d6aa17987f929bbe6119e60e67
[ "$sha" = "$want" ] && ok "pinned output" || fail "output changed: sha256 $sha"
"$SIM" "${G[@]/%7/8}" >"$TMP/c"
cmp -s "$TMP/a" "$TMP/c" && fail "seed 8 gives the same trace" || ok "another seed, another trace"
[ "$(grep -c '^a [0-9]' "$TMP/a")" -gt 0 ] && [ "$(grep -c '^a -$' "$TMP/a")" -gt 0 ] &&
  [ "$(grep -c '^c ' "$TMP/a")" -gt 0 ] && [ "$(grep -c '^f [0-9]* [0-9]*$' "$TMP/a")" -gt 0 ] &&
  ok "all four kinds of line" || fail "missing a kind of line"
[ "$(grep -vc '^#' "$TMP/a")" = 20000 ] && ok "20000 ops" || fail "op count"
"$SIM" replay "$TMP/a" --capacity 40 --warm 5 --json >"$TMP/j" || fail "gen output does not replay"
[ "$(json failed_allocs <"$TMP/j")" = 0 ] && [ "$(json peak_in_use <"$TMP/j")" -le 40 ] &&
  ok "live handles within capacity" || fail "capacity exceeded: $(cat "$TMP/j")"
# Capacity 0: only allocations, nothing live, nothing freed.
"$SIM" gen --ops 5 --keys 3 --capacity 0 --seed 1 | grep -vc '^#' | grep -qx 5 && ok "capacity 0" || fail "capacity 0"
finish
