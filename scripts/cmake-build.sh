#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Configures and builds one build tree quietly: CMake's and the compiler's
# output go to DIR/configure.log and DIR/build.log, and only a failure (or a
# CMake warning, or a line slotpool's CMake files address to the user) is
# shown. V=1 shows everything as it comes.
#
#   scripts/cmake-build.sh DIR [CMAKE_ARG...]          (the Makefile's builds)
#
# JOBS sets the parallel jobs (default: the number of CPUs).
set -euo pipefail
dir="$1"
shift
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
cmake="${CMAKE:-cmake}"
mkdir -p "$dir"

if [ "${V:-0}" = 1 ]; then
  "$cmake" -S . -B "$dir" "$@"
  exec "$cmake" --build "$dir" -j "$jobs"
fi

echo "build: $dir"
if ! "$cmake" -S . -B "$dir" -Wno-dev "$@" >"$dir/configure.log" 2>&1; then
  cat "$dir/configure.log" >&2
  echo "build: configuring $dir failed (log above: $dir/configure.log)" >&2
  exit 1
fi
# What the configure step says to the user: slotpool's own status lines
# ("-- slotpool: ...") and any warning, with its text.
awk '/^-- slotpool: / { sub(/^-- /, ""); print; next }
     /^CMake (Deprecation )?Warning/ { w = 1 }
     w { print; if (/^$/ && ++blank >= 2) { w = 0; blank = 0 } }' "$dir/configure.log"
if ! "$cmake" --build "$dir" -j "$jobs" >"$dir/build.log" 2>&1; then
  # The first error, then the end of the log.
  grep -m1 -B2 -A12 -E ': (fatal )?error:|undefined reference|CMake Error' "$dir/build.log" >&2 || true
  echo "..." >&2
  tail -n 25 "$dir/build.log" >&2
  echo "build: building $dir failed (full log: $dir/build.log; V=1 to see it all)" >&2
  exit 1
fi
