#!/usr/bin/env bash
# Lists the files that lack "SPDX-License-Identifier: MIT" in their first
# three lines: C sources and headers, CMake files, and shell and Python
# scripts (by extension or by a #! first line). Tracked files only, when run
# in a git checkout.
#
#   scripts/check-spdx.sh [FILE...]
#
# Exit status: 0 when every file has the line, 1 otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [ $# -gt 0 ]; then
  candidates=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t candidates < <(git ls-files)
else
  mapfile -t candidates < <(find . -type f -not -path './build/*' -not -path './.git/*' |
    sed 's|^\./||' | sort)
fi

wanted() {
  case "$1" in
  *.c | *.h | *.cmake | *.cmake.in | */CMakeLists.txt | CMakeLists.txt | *.sh | *.py) return 0 ;;
  esac
  # A script without an extension (.ci/run): a #! first line naming a shell
  # or python.
  head -c 2 "$1" 2>/dev/null | grep -q '^#!' &&
    head -n 1 "$1" | grep -qE '(ba|da|z)?sh|python'
}

missing=0
total=0
for f in "${candidates[@]}"; do
  [ -f "$f" ] || continue
  wanted "$f" || continue
  total=$((total + 1))
  if ! head -n 3 "$f" | grep -q 'SPDX-License-Identifier: MIT'; then
    echo "$f"
    missing=$((missing + 1))
  fi
done
if [ "$missing" -gt 0 ]; then
  echo "spdx: $missing of $total files lack 'SPDX-License-Identifier: MIT' in their first 3 lines" >&2
  exit 1
fi
echo "spdx: all $total files carry SPDX-License-Identifier: MIT"
