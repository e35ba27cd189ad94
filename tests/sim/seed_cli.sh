#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# seed_cli.sh: runs slotpool-sim with seed_replay's command line, so that
# ../shared/anchors/check_seed_traces.sh can check slotpool-sim:
#   SIM=build/release/tools/slotpool-sim ../shared/anchors/check_seed_traces.sh tests/sim/seed_cli.sh
# Usage: seed_cli.sh CAPACITY WARM TRACE [--quiet] [--repeat N]
# stdout: the slots (as seed_replay); stderr: ops=.. ns_per_op=.. affine_hits=..
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
sim="${SIM:-$here/../../build/release/tools/slotpool-sim}"
[ $# -ge 3 ] || { echo "usage: $0 CAPACITY WARM TRACE [--quiet] [--repeat N]" >&2; exit 2; }
cap=$1 warm=$2 trace=$3; shift 3
slots=- repeat=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quiet) slots=/dev/null ;;
    --repeat) repeat=$2; shift ;;
    *) echo "$0: unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
"$sim" replay "$trace" --capacity "$cap" --warm "$warm" --repeat "$repeat" --slots "$slots" --json 2>"$tmp"
rc=$?
if [ $rc -ne 0 ]; then cat "$tmp" >&2; exit $rc; fi
sed -E 's/.*"ops":([0-9]+).*"affine_hits":([0-9]+).*"ns_per_op":([0-9.]+).*/ops=\1 ns_per_op=\3 affine_hits=\2/' "$tmp" >&2
