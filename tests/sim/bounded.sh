#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input is refused fast and in little memory: the trace is parsed as it
# is read, so an endless line of garbage (/dev/zero), a 100 MB line, or a bad
# first line followed by endless input give "FILE:LINE: why" and exit 2
# without reading on, under `ulimit -v` (64 MB) where the build allows it.
# Long lines the seed accepts (a huge comment, blank padding) still pass.
. "$(dirname "$0")/lib.sh"

# ASan reserves terabytes of address space: no ulimit -v under it.
LIMIT=""
if (ulimit -v 64000 && "$SIM" --help) >/dev/null 2>&1; then LIMIT="ulimit -v 64000;"
else echo "note: this build cannot run under ulimit -v; checking time only"; fi
limited() { bash -c "$LIMIT"' exec timeout 20 "$@"' _ "$@"; }

for cmd in replay sweep; do
  if [ $cmd = replay ]; then args=(--capacity 4 --warm 1); else args=(--capacity 4 --all); fi
  start=$(date +%s%N)
  limited "$SIM" $cmd /dev/zero "${args[@]}" >"$TMP/out" 2>"$TMP/err"; rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [ $rc -eq 2 ] && grep -q '^/dev/zero:1: malformed line: "\\x00\\x00.*\.\.\."$' "$TMP/err" && [ ! -s "$TMP/out" ]; then
    ok "$cmd /dev/zero: exit 2 at once (${ms} ms) ${LIMIT:+under ulimit -v 64 MB}"
  else fail "$cmd /dev/zero: rc=$rc after ${ms} ms: $(head -c 200 "$TMP/err")"; fi
done

# One 100 MB line: refused after its first TRACE_LINE_MAX bytes (reading it
# whole, as the parser once did, takes more memory than the limit).
head -c 100000000 /dev/zero | tr '\0' 'a' >"$TMP/long.trace"
limited "$SIM" replay "$TMP/long.trace" --capacity 4 --warm 1 >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -qx "$TMP/long.trace:1: malformed line: \"a\{40\}\.\.\.\"" "$TMP/err" &&
  ok "100 MB line: exit 2" || fail "100 MB line: rc=$rc $(head -c 200 "$TMP/err")"
rm -f "$TMP/long.trace"

# A bad first line is reported while the input goes on (endless here), and a
# bad line is reported before a later byte that is not UTF-8.
{ echo 'a 1'; echo 'x 2'; yes 'a 1'; } | timeout 20 "$SIM" replay - --capacity 4 --warm 1 >/dev/null 2>"$TMP/err"
rc=${PIPESTATUS[1]}
[ "$rc" -eq 2 ] && [ "$(cat "$TMP/err")" = '-:2: malformed line: "x 2"' ] &&
  ok "bad line 2 of endless input: exit 2 at once" || fail "endless input: rc=$rc $(head -c 200 "$TMP/err")"
printf 'a 1\nf 9\n\xff\n' >"$TMP/t"
"$SIM" replay "$TMP/t" --capacity 4 --warm 1 >/dev/null 2>"$TMP/err"
[ "$(cat "$TMP/err")" = "$TMP/t:2: free of unknown handle: \"f 9\"" ] && ok "the first bad line first" ||
  fail "first bad line: $(cat "$TMP/err")"

# What the seed accepts, however long the line: a 5 MB comment, blank
# padding inside an operation line, leading zeros.
{ printf '#'; head -c 5000000 /dev/zero | tr '\0' 'c'; printf '\na 1\na'; head -c 1000000 /dev/zero | tr '\0' ' ';
  printf '2\nf '; head -c 100000 /dev/zero | tr '\0' '0'; printf '1 7\n'; } >"$TMP/ok.trace"
limited "$SIM" replay "$TMP/ok.trace" --capacity 4 --warm 1 --slots - --json >"$TMP/out" 2>"$TMP/err"; rc=$?
[ $rc -eq 0 ] && [ "$(tr '\n' ' ' <"$TMP/out")" = "0 1 " ] && [ "$(json frees <"$TMP/err")" = 1 ] &&
  ok "long comment, padded and zero-led lines accepted" || fail "long valid lines: rc=$rc $(head -c 300 "$TMP/err")"

# Unreadable input: a folder.
"$SIM" replay "$TMP" --capacity 4 --warm 1 >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -qF "$TMP: cannot read: Is a directory" "$TMP/err" && ok "a folder: cannot read, exit 2" ||
  fail "folder: rc=$rc $(cat "$TMP/err")"
finish
