#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every rejection: a bad trace exits 2 with exactly "FILE:LINE: why: excerpt"
# on stderr and replays nothing (no slot printed); bad flags name the flag and
# the value; a configuration the library refuses exits 1 with sp_strerror.
. "$(dirname "$0")/lib.sh"

bad() {  # name, trace bytes (printf %b), expected stderr line
  local f="$TMP/bad.trace"
  printf '%b' "$2" >"$f"
  "$SIM" replay "$f" --capacity 10 --warm 2 --slots - >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  local want="${3//@/$f}"
  if [ $rc -eq 2 ] && [ ! -s "$TMP/out" ] && [ "$(cat "$TMP/err")" = "$want" ]; then ok "rejects $1"
  else fail "rejects $1: rc=$rc stdout=$(wc -c <"$TMP/out")B stderr='$(cat "$TMP/err")' want '$want'"; fi
}
bad "malformed op"        'a 1\nx 2\n'          '@:2: malformed line: "x 2"'
bad "malformed key"       'a 1x\n'              '@:1: malformed key: "a 1x"'
bad "signed key"          'a +1\n'              '@:1: malformed key: "a +1"'
bad "key over 2^64-1"     'a 18446744073709551616\n' '@:1: malformed key: "a 18446744073709551616"'
bad "c without key"       'c -\n'               '@:1: malformed key: "c -"'
bad "extra field"         'a 1 2\n'             '@:1: malformed line: "a 1 2"'
bad "trailing comment"    'a 1 # c\n'           '@:1: malformed line: "a 1 # c"'
bad "missing key"         'a\n'                 '@:1: malformed line: "a"'
bad "bad handle"          'a 1\nf x\n'          '@:2: malformed handle: "f x"'
bad "bad bytes"           'a 1\nf 0 -1\n'       '@:2: malformed bytes_resident: "f 0 -1"'
bad "unknown handle"      'a 1\nf 1\n'          '@:2: free of unknown handle: "f 1"'
bad "forward handle"      'f 0\na 1\n'          '@:1: free of unknown handle: "f 0"'
bad "huge handle"         'a 1\nf 99999999999999999999\n' '@:2: malformed handle: "f 99999999999999999999"'
bad "double free"         'a 1\nf 0\nf 0\n'     '@:3: double free of handle: "f 0"'
bad "double free of None" 'c 7\nf 0\nf 0\n'     '@:3: double free of handle: "f 0"'
bad "line after comments" '# x\n\n  # y\r\na 1\nz\n' '@:5: malformed line: "z"'
bad "binary garbage"      '\xff\xfe\x00a 1\n'   '@:1: not valid UTF-8'
bad "invalid UTF-8 line 3" 'a 1\na 2\n\xc0\xaf\n' '@:3: not valid UTF-8'
bad "NUL byte"            'a 1\na \x00\n'       '@:2: malformed key: "a \x00"'
bad "vertical tab inside" 'a\v1\n'              '@:1: malformed line: "a\x0b1"'

# A 10 MB line: rejected with a short excerpt, fast.
head -c 10000000 /dev/zero | tr '\0' 'a' >"$TMP/long.trace"
"$SIM" replay "$TMP/long.trace" --capacity 1 --warm 0 >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -qx "$TMP/long.trace:1: malformed line: \"a\{40\}\.\.\.\"" "$TMP/err" &&
  ok "10 MB line" || fail "10 MB line: rc=$rc $(head -c 200 "$TMP/err")"

# Valid oddities the seed accepts too: CRLF, Unicode blanks around a line,
# tabs between fields, an empty file, a file without a final newline.
printf '\xc2\xa0a 5\xe3\x80\x80\r\n\ta\t-\r\nc 5\nf 0 18446744073709551615\nf 1 1' >"$TMP/odd.trace"
out=$("$SIM" replay "$TMP/odd.trace" --capacity 4 --warm 0 --slots - 2>/dev/null | tr '\n' ' ')
[ "$out" = "0 1 - " ] && ok "accepts CRLF, Unicode blanks, tabs, no final newline" || fail "odd trace: '$out'"
: >"$TMP/empty.trace"
"$SIM" replay "$TMP/empty.trace" --capacity 4 --warm 0 --json >"$TMP/j" && [ "$(json ops <"$TMP/j")" = 0 ] &&
  ok "empty trace" || fail "empty trace"
# Bytes that overflow the resident sum are dropped, not a different slot choice.
printf 'a 1\na 2\nf 0 18446744073709551615\nf 1 1\na 2\n' >"$TMP/ovf.trace"
"$SIM" replay "$TMP/ovf.trace" --capacity 4 --warm 4 --json --slots "$TMP/s" >"$TMP/j"
[ "$(json bytes_overflows <"$TMP/j")" = 1 ] && [ "$(tr '\n' ' ' <"$TMP/s")" = "0 1 1 " ] &&
  ok "byte-sum overflow" || fail "byte-sum overflow: $(cat "$TMP/j")"

flag() {  # name, expected status, stderr substring, args...
  local name="$1" want="$2" msg="$3"; shift 3
  "$SIM" "$@" >"$TMP/out" 2>"$TMP/err"; local rc=$?
  if [ $rc -eq "$want" ] && grep -qF -- "$msg" "$TMP/err"; then ok "$name"
  else fail "$name: rc=$rc stderr='$(cat "$TMP/err")' want '$msg'"; fi
}
T="$DATA/affinity_threshold.trace"
flag "no command"          2 "usage: slotpool-sim"
flag "unknown command"     2 "unknown command 'frob'" frob
flag "missing --capacity"  2 "--capacity is required" replay "$T" --warm 1
flag "missing --warm"      2 "--warm is required" replay "$T" --capacity 10
flag "bad --capacity"      2 "--capacity: bad value '1e3'" replay "$T" --capacity 1e3 --warm 1
flag "negative --warm"     2 "--warm: bad value '-1'" replay "$T" --capacity 10 --warm -1
flag "--warm > 2^32-1"     2 "--warm: bad value '4294967296'" replay "$T" --capacity 10 --warm 4294967296
flag "--repeat 0"          2 "--repeat: bad value '0'" replay "$T" --capacity 10 --warm 1 --repeat 0
flag "flag without value"  2 "--capacity needs a value" replay "$T" --warm 1 --capacity
flag "unknown flag"        2 "unknown flag '--frob'" replay "$T" --capacity 10 --warm 1 --frob
flag "missing file"        2 "nope.trace: cannot open: No such file or directory" replay "$TMP/nope.trace" --capacity 1 --warm 0
flag "capacity too large"  1 "invalid argument" replay "$T" --capacity 2000000000 --warm 1
flag "gen --free-prob 2"   2 "--free-prob: bad value '2'" gen --ops 1 --keys 1 --capacity 1 --seed 1 --free-prob 2
flag "gen --keys 0"        2 "--keys: bad value '0'" gen --ops 1 --keys 0 --capacity 1 --seed 1
flag "gen missing --seed"  2 "--seed is required" gen --ops 1 --keys 1 --capacity 1
flag "sweep bad range"     2 "--warm: bad value '8:4:1'" sweep "$T" --capacity 10 --warm 8:4:1
flag "sweep bad list"      2 "--warm: bad value '1,,2'" sweep "$T" --capacity 10 --warm 1,,2
flag "sweep --warm & --all" 2 "--warm and --all exclude each other" sweep "$T" --capacity 10 --warm 1 --all
flag "mt --threads 0"      2 "--threads: want 1..1024" mt --capacity 10 --warm 1 --threads 0 --ops 10
flag "mt --zipf x"         2 "--zipf: bad value 'x'" mt --capacity 10 --warm 1 --threads 1 --ops 10 --zipf x
flag "gen unknown flag"    2 "unknown flag '--frob'" gen --frob
flag "mt positional"       2 "unexpected argument 'x' (see --help)" mt x --capacity 10 --warm 1 --threads 1 --ops 10
flag "replay two traces"   2 "unexpected argument '$T': one TRACE only" replay "$T" "$T" --capacity 10 --warm 1
flag "replay no trace"     2 "TRACE is required" replay --capacity 10 --warm 1
flag "sweep no budget"     2 "--warm or --all is required" sweep "$T" --capacity 10
flag "mt missing --ops"    2 "--ops is required" mt --capacity 10 --warm 1 --threads 1

for cmd in replay gen sweep mt; do
  "$SIM" "$cmd" --help >"$TMP/out" 2>&1 && grep -q "^usage: slotpool-sim $cmd" "$TMP/out" &&
    grep -q "^Example" "$TMP/out" && ok "$cmd --help" || fail "$cmd --help"
done
finish
