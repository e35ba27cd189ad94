#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Probes for what a check needs, by what it provides rather than by package
# name. Exit status 0 when every probe given holds.
#
#   scripts/have.sh PROBE...
#
# Probes: cmd:NAME   NAME is a command on PATH
#         cmocka     cmocka's header and library (compile and link)
#         asan       clang builds and links with -fsanitize=address,undefined
#         tsan       the default compiler links with -fsanitize=thread
set -uo pipefail
cc="${CC:-cc}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf 'int main(void) { return 0; }\n' >"$tmp/t.c"
cat >"$tmp/cm.c" <<'C'
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
int main(void) { return _cmocka_run_group_tests != 0 ? 0 : 1; }
C
for p in "$@"; do
  case "$p" in
  cmd:*) command -v "${p#cmd:}" >/dev/null 2>&1 || exit 1 ;;
  cmocka) "$cc" "$tmp/cm.c" -o "$tmp/cm" -lcmocka >/dev/null 2>&1 || exit 1 ;;
  asan) clang -fsanitize=address,undefined "$tmp/t.c" -o "$tmp/a" >/dev/null 2>&1 || exit 1 ;;
  tsan) "$cc" -fsanitize=thread "$tmp/t.c" -o "$tmp/t" >/dev/null 2>&1 || exit 1 ;;
  *) echo "have.sh: unknown probe $p" >&2; exit 2 ;;
  esac
done
exit 0
