#!/usr/bin/env bash
# Static analysis: cppcheck and clang-tidy (.clang-tidy) over the library
# (src/, include/) and the tools (tools/), the code that ships. Any finding
# fails. Tests are left out: they are checked by running them under ASan,
# UBSan, TSan and valgrind.
#
#   scripts/lint.sh [FILE.c...]            (make lint)
#
# Configures build/lint with clang only to get compile_commands.json (no
# build). Suppressions live in .clang-tidy and below, each with its reason.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
B="${LINT_BUILD:-build/lint}"
jobs="$(nproc 2>/dev/null || echo 2)"
for tool in cppcheck clang-tidy; do
  command -v "$tool" >/dev/null || { echo "lint: $tool not installed (scripts/install-deps.sh)" >&2; exit 1; }
done

if [ $# -gt 0 ]; then
  files=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked files only: what a clone has, not a colleague's work in progress.
  mapfile -t files < <(git ls-files 'src/*.c' 'tools/*.c')
else
  mapfile -t files < <(find src tools -name '*.c' | sort)
fi
[ ${#files[@]} -gt 0 ] || { echo "lint: no sources found" >&2; exit 1; }

cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DSP_BUILD_TESTS=OFF -DSP_BUILD_BENCH=OFF -DSP_BUILD_EXAMPLES=OFF -DSP_BUILD_TOOLS=ON \
  -DSP_SANITIZE= -DSP_FUZZ=OFF >/dev/null

status=0
# cppcheck: warning, style, performance and portability findings.
#  variableScope is off: declaring at the top of a block is allowed house style.
#  missingIncludeSystem: cppcheck does not need libc's headers to analyse.
echo "lint: cppcheck (${#files[@]} files)"
cppcheck --std=c11 --enable=warning,style,performance,portability --inline-suppr --quiet \
  --error-exitcode=1 -j "$jobs" -D_GNU_SOURCE -D__linux__ -D__GNUC__ -Iinclude -Isrc -Itools \
  --suppress=missingIncludeSystem --suppress=variableScope \
  "${files[@]}" || status=1

echo "lint: clang-tidy (${#files[@]} files)"
printf '%s\n' "${files[@]}" |
  xargs -P "$jobs" -n 1 clang-tidy -p "$B" --quiet 2>/dev/null || status=1

if [ "$status" -ne 0 ]; then
  echo "lint: FAILED (findings above)" >&2
  exit 1
fi
echo "lint: clean (cppcheck, clang-tidy)"
