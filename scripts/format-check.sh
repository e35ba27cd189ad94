#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks C files against .clang-format without changing them: any file that
# `clang-format -i` would change fails, with the diff.
#
#   scripts/format-check.sh            every tracked C file (make lint)
#   scripts/format-check.sh FILE...    those files
#
# The reference is clang-format 14 (Debian 12); later versions may lay a few
# lines out differently. Without clang-format the check is skipped, saying so
# (scripts/need.sh).
# Reformat a file with `clang-format -i FILE`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cf="${CLANG_FORMAT:-clang-format}"
scripts/need.sh lint/format "cmd:$cf" || { [ $? -eq 1 ] && exit 0; exit 1; }
major="$("$cf" --version | sed -nE 's/.*version ([0-9]+).*/\1/p' | head -1)"
if [ -n "$major" ] && [ "$major" -lt 14 ]; then
  echo "format: SKIPPED ($cf $major is older than 14, the reference version)"
  exit 0
fi

if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files '*.c' '*.h')
fi
status=0
for f in "${files[@]}"; do
  if ! "$cf" --style=file "$f" | diff -u --label "$f" --label "$f (clang-format)" "$f" - ; then
    status=1
  fi
done
if [ "$status" -ne 0 ]; then
  echo "format: FAILED: run clang-format -i on the files above (.clang-format)" >&2
  exit 1
fi
echo "format: clean (${#files[@]} files, clang-format ${major:-?})"
