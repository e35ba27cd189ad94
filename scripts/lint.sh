#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Static analysis: cppcheck and clang-tidy (.clang-tidy) over the library
# (src/, include/) and the tools (tools/), the code that ships. Any finding
# fails. Tests are left out: they are checked by running them under ASan,
# UBSan, TSan and valgrind.
#
#   scripts/lint.sh [FILE.c...]            (make lint)
#
# Configures build/lint with clang only to get compile_commands.json (no
# build). Suppressions live in .clang-tidy and below, each with its reason.
# A tool that is not installed is skipped, saying so (scripts/need.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
B="${LINT_BUILD:-build/lint}"
jobs="$(nproc 2>/dev/null || echo 2)"
run_cppcheck=1 run_tidy=1
scripts/need.sh lint/cppcheck cmd:cppcheck || { [ $? -eq 1 ] && run_cppcheck=0 || exit 1; }
scripts/need.sh lint/clang-tidy cmd:clang-tidy cmd:clang || { [ $? -eq 1 ] && run_tidy=0 || exit 1; }
[ "$run_cppcheck$run_tidy" != 00 ] || exit 0

if [ $# -gt 0 ]; then
  files=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked files only: what a clone has, not a colleague's work in progress.
  mapfile -t files < <(git ls-files 'src/*.c' 'tools/*.c')
else
  mapfile -t files < <(find src tools -name '*.c' | sort)
fi
[ ${#files[@]} -gt 0 ] || { echo "lint: no sources found" >&2; exit 1; }

if [ "$run_tidy" = 1 ]; then
  cmake -S . -B "$B" -Wno-dev -DCMAKE_C_COMPILER=clang -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    -DSP_BUILD_TESTS=OFF -DSP_BUILD_BENCH=OFF -DSP_BUILD_EXAMPLES=OFF -DSP_BUILD_TOOLS=ON \
    -DSP_SANITIZE= -DSP_FUZZ=OFF >/dev/null
fi

# Findings judged false positives, each "PATH CHECK" with the reason. Matched
# by file and check (not line, which moves), so a new finding of another
# kind in the same file still fails. Report each to the file's owner: most
# disappear with a one-line initialisation in the source.
tidy_ignore=(
  # The PAGEMAP_SCAN ioctl fills v[0..n); the analyzer cannot see the kernel write.
  "src/os/linux.c clang-analyzer-core.UndefinedBinaryOperatorResult"
  # A free names a handle that an earlier op of the (validated) trace wrote.
  "tools/sim_run.c clang-analyzer-core.UndefinedBinaryOperatorResult"
  # calloc(n, sizeof *ix) with ix an sp_index **: an array of pointers, as
  # meant (clang-tidy 14 cannot turn off just its pointer-to-aggregate case).
  "tools/sim_run.c bugprone-sizeof-expression"
  # (unsigned long long) of a uint64_t is for printf's %llu, not a widening.
  "tools/sim_gen.c bugprone-misplaced-widening-cast"
)
cppcheck_ignore=(
  # The loops that set st run at least once (--repeat >= 1 is validated).
  --suppress=uninitvar:tools/sim_run.c --suppress=uninitvar:tools/sim_mt.c
  # `a / b ? a / b : 1` is correct; clarity, reported to the owner.
  --suppress=clarifyCalculation:tools/sim_mt.c
  # Flag values are written by cli_parse through the table's void pointers,
  # which cppcheck does not follow: it takes the initial values as final.
  --suppress=knownConditionTrueFalse:tools/sim_gen.c --suppress=knownConditionTrueFalse:tools/sim_mt.c
  --suppress=knownConditionTrueFalse:tools/sim_replay.c --suppress=knownConditionTrueFalse:tools/sim_sweep.c
)

status=0
# cppcheck: warning, style, performance and portability findings.
#  variableScope is off: declaring at the top of a block is allowed house style.
#  missingIncludeSystem: cppcheck does not need libc's headers to analyse.
if [ "$run_cppcheck" = 1 ]; then
  echo "lint: cppcheck (${#files[@]} files)"
  cppcheck --std=c11 --enable=warning,style,performance,portability --inline-suppr --quiet \
    --error-exitcode=1 -j "$jobs" -D_GNU_SOURCE -D__linux__ -D__GNUC__ -Iinclude -Isrc -Itools \
    --suppress=missingIncludeSystem --suppress=variableScope "${cppcheck_ignore[@]}" \
    "${files[@]}" || status=1
fi

out="$B/clang-tidy.log"
mkdir -p "$B"
: >"$out"
if [ "$run_tidy" = 1 ]; then
  echo "lint: clang-tidy (${#files[@]} files)"
  printf '%s\n' "${files[@]}" | xargs -P "$jobs" -n 1 clang-tidy -p "$B" --quiet >"$out" 2>&1 || true
fi
ignored=0
while IFS= read -r line; do
  file="${line%%:*}"
  file="${file#"$root"/}"
  check="$(sed -E 's/.*\[([^],]+)[],].*/\1/' <<<"$line")"
  if printf '%s\n' "${tidy_ignore[@]}" | grep -qxF "$file $check"; then
    ignored=$((ignored + 1))
  else
    echo "$line"
    status=1
  fi
done < <(grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' "$out" | sort -u)
[ "$ignored" -eq 0 ] || echo "lint: clang-tidy: $ignored known false positives ignored (scripts/lint.sh)"
[ "$status" -eq 0 ] || echo "lint: details: clang-tidy -p $B FILE, or $out"

if [ "$status" -ne 0 ]; then
  echo "lint: FAILED (findings above)" >&2
  exit 1
fi
ran=()
[ "$run_cppcheck" = 0 ] || ran+=(cppcheck)
[ "$run_tidy" = 0 ] || ran+=(clang-tidy)
echo "lint: clean (${ran[*]})"
