# SPDX-License-Identifier: MIT
# lib.sh: helpers sourced by the slotpool-sim CTest scripts.
# Each script gets SIM (the slotpool-sim binary) and DATA (tests/data) as $1 $2.
set -uo pipefail
SIM="$1"
DATA="$2"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
nfail=0
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
ok() { echo "ok   $*"; }
# json FIELD < one-line JSON object: prints the value of a numeric field
json() { sed -nE "s/.*\"$1\":([0-9.eE+-]+).*/\1/p"; }
finish() {
  if [ "$nfail" -ne 0 ]; then echo "$nfail check(s) failed"; exit 1; fi
  echo "all checks passed"; exit 0
}
