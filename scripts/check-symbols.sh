#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the linker version script against the library: every public
# function (declared SP_API in include/, or given default visibility in the
# static library) must be listed in the map, everything the map lists must
# be exported by the shared library with the map's version, and the shared
# library must export nothing else. Names each symbol that breaks a rule.
# The CTest abi_symbols runs it.
#
#   scripts/check-symbols.sh MAP LIBSLOTPOOL.so LIBSLOTPOOL.a INCLUDE_DIR
set -euo pipefail
map="$1" so="$2" ar="$3" inc="$4"
for tool in nm readelf; do
  command -v "$tool" >/dev/null || { echo "skip: $tool not installed (binutils)"; exit 77; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The map: the names of its global: sections, and its version nodes.
sed -e 's|/\*.*\*/||g' -e '/\/\*/,/\*\//d' "$map" |
  awk '/^[A-Za-z0-9_.]+[ \t]*\{/ { sub(/[ \t]*\{.*/, ""); node = $0; next }
       /global:/ { g = 1; next } /local:/ { g = 0; next } /\}/ { g = 0; next }
       g { gsub(/[ \t;]/, ""); if ($0 != "") print $0 " " node }' | sort >"$tmp/map_nodes"
cut -d' ' -f1 "$tmp/map_nodes" | sort -u >"$tmp/map"
[ -s "$tmp/map" ] || { echo "FAIL: no symbols found in $map"; exit 1; }

# Public by declaration: SP_API prototypes in the installed headers.
grep -rhoE '^SP_API[^(]*[ *]sp_[a-z0-9_]+\(' "$inc" | sed -E 's/.*[ *](sp_[a-z0-9_]+)\($/\1/' |
  sort -u >"$tmp/declared"
# Public by definition: global functions with default visibility in the
# library's objects (the library is built with hidden visibility, SP_API
# turns it back on).
readelf -sW "$ar" 2>/dev/null |
  awk '$4 == "FUNC" && $5 == "GLOBAL" && $6 == "DEFAULT" && $7 != "UND" { print $8 }' |
  sort -u >"$tmp/defined"
sort -u "$tmp/declared" "$tmp/defined" >"$tmp/public"

# Exported: defined dynamic symbols of the shared library (name@@VERSION).
nm -D --defined-only "$so" | awk '{ print $3 }' | sort -u >"$tmp/dyn"

status=0
fail() { echo "FAIL: $*"; status=1; }
while read -r s; do
  grep -qxF "$s" "$tmp/map" ||
    fail "$s is public (SP_API) but missing from $map: add it to the global: list of the newest version node"
done <"$tmp/public"
while read -r s; do
  grep -qxF "$s" "$tmp/declared" ||
    fail "$s is listed in $map but declared SP_API in no header of $inc"
  grep -qxF "$s" "$tmp/defined" ||
    fail "$s is listed in $map but the library defines no such public function"
done <"$tmp/map"
while read -r s node; do
  grep -qxF "$s@@$node" "$tmp/dyn" ||
    fail "$s is listed in $map (node $node) but $(basename "$so") does not export $s@@$node"
done <"$tmp/map_nodes"
while read -r d; do
  name="${d%%@*}"
  case "$d" in
  SLOTPOOL_*) [ "$name" = "$d" ] && continue ;; # the version nodes themselves
  esac
  grep -qxF "$name" "$tmp/map" ||
    fail "$(basename "$so") exports $d, which $map does not list (is the version script applied?)"
done <"$tmp/dyn"

n="$(wc -l <"$tmp/map")"
if [ "$status" -ne 0 ]; then
  echo "abi_symbols: FAILED (map: $map)"
  exit 1
fi
echo "abi_symbols: $n public functions, all in $(basename "$map") and exported with their version"
