#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Skips a check, visibly, when a tool it needs is missing.
#
#   scripts/need.sh NAME PROBE... [-- COMMAND...]
#
# When every PROBE holds (scripts/have.sh), runs COMMAND (if given) and
# returns its status, or returns 0. Otherwise prints "NAME: SKIPPED (what is
# missing)", appends that line to $SP_SKIP_LOG when set (make check prints
# them all at the end) and returns 0 when COMMAND was given, 1 when not.
# With SP_CHECK_STRICT=1 (CI) a missing tool fails instead: "NAME: FAILED",
# status 2.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
name="$1"
shift
probes=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  probes+=("$1")
  shift
done
[ "${1:-}" = -- ] && shift

describe() {
  case "$1" in
  cmd:*) echo "${1#cmd:} not installed" ;;
  cmocka) echo "cmocka not installed" ;;
  asan) echo "clang cannot link -fsanitize=address,undefined: its runtime is not installed" ;;
  tsan) echo "${CC:-cc} cannot link -fsanitize=thread" ;;
  *) echo "$1 missing" ;;
  esac
}

missing=()
for p in "${probes[@]}"; do
  "$here/have.sh" "$p" || missing+=("$(describe "$p")")
done
if [ ${#missing[@]} -eq 0 ]; then
  [ $# -gt 0 ] && exec "$@"
  exit 0
fi
why="$(IFS=';'; echo "${missing[*]}" | sed 's/;/; /g')"
if [ "${SP_CHECK_STRICT:-0}" = 1 ]; then
  echo "$name: FAILED ($why; SP_CHECK_STRICT=1 does not skip)" >&2
  exit 2
fi
echo "$name: SKIPPED ($why)"
if [ -n "${SP_SKIP_LOG:-}" ]; then
  mkdir -p "$(dirname "$SP_SKIP_LOG")"
  echo "$name: SKIPPED ($why)" >>"$SP_SKIP_LOG"
fi
[ $# -gt 0 ] && exit 0
exit 1
