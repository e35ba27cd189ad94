#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The metrics as the real tools read them: metrics_dump writes an index's
# metrics and an exercise of the emitter (labels, escaping, bytes that are
# not UTF-8) in both formats; then
#   check_tools.sh DUMP prometheus   promtool check metrics on each .prom
#                                    file: exit 0 and nothing printed
#   check_tools.sh DUMP json         jq -e . (or python3 -m json.tool) on
#                                    each .json file, and the keys expected
# Exits 77 (skipped) when the tool is not installed (Debian: prometheus, jq).
set -uo pipefail
DUMP="$1"
MODE="$2"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
nfail=0
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }

case "$MODE" in
prometheus)
  command -v promtool >/dev/null || { echo "skip: promtool not installed (apt-get install prometheus)"; exit 77; }
  ;;
json)
  if command -v jq >/dev/null; then
    JSON=(jq -e .)
  elif command -v python3 >/dev/null; then
    JSON=(python3 -m json.tool)
  else
    echo "skip: neither jq nor python3 installed (apt-get install jq)"; exit 77
  fi
  ;;
*) echo "usage: check_tools.sh DUMP prometheus|json"; exit 2 ;;
esac

"$DUMP" "$TMP" || { echo "FAIL: metrics_dump"; exit 1; }
if [ "$MODE" = prometheus ]; then
  for f in "$TMP"/*.prom; do
    out="$(promtool check metrics <"$f" 2>&1)"
    rc=$?
    if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
      fail "promtool check metrics $(basename "$f") (exit $rc): $out"
      sed 's/^/    /' "$f"
    else
      echo "ok   promtool check metrics $(basename "$f"): $(grep -c '^# TYPE' "$f") families, $(grep -vc '^#' "$f") samples"
    fi
  done
  # The index's families, each once.
  for name in slotpool_build_info slotpool_index_capacity_slots slotpool_index_allocs_total \
    slotpool_index_unused_resident_bytes slotpool_index_memory_bytes; do
    [ "$(grep -c "^# TYPE $name " "$TMP/index.prom")" = 1 ] || fail "index.prom: no single $name"
  done
  # The pool's: every counter and gauge of its stats, the paths as labels,
  # per-image series only when asked, bounded, with "other".
  for name in slotpool_mempool_allocs_total slotpool_mempool_resident_warm_bytes \
    slotpool_mempool_max_resident_bytes slotpool_mempool_mapping_refusals_total \
    slotpool_mempool_wait_timeouts_total slotpool_mempool_peak_in_use_slots; do
    [ "$(grep -c "^# TYPE $name " "$TMP/mempool.prom")" = 1 ] || fail "mempool.prom: no single $name"
  done
  grep -q '^slotpool_mempool_path_info{track="[a-z_]*",decommit="[a-z_]*",guard="[a-z_]*",reset="adaptive"} 1$' \
    "$TMP/mempool.prom" || fail "mempool.prom: path_info labels"
  grep -q 'image=' "$TMP/mempool.prom" && fail "mempool.prom: per-image series not asked for"
  n="$(grep -c '^slotpool_mempool_image_live_slots{' "$TMP/mempool_images.prom")"
  [ "$n" = 33 ] || fail "mempool_images.prom: $n image series, want 32 and other"
  grep -q '^slotpool_mempool_image_live_slots{image="other"}' "$TMP/mempool_images.prom" ||
    fail "mempool_images.prom: no image=\"other\""
else
  for f in "$TMP"/*.json; do
    if out="$("${JSON[@]}" <"$f" 2>&1)"; then
      echo "ok   ${JSON[*]} $(basename "$f")"
    else
      fail "${JSON[*]} $(basename "$f"): $out"
      cat "$f"
    fi
    [ "$(wc -l <"$f")" = 1 ] || fail "$(basename "$f"): not one line"
  done
  if [ "${JSON[0]}" = jq ]; then
    jq -e '.capacity == 12 and .shards == 1 and .failed_allocs > 0 and .clear_misses > 0' \
      "$TMP/index.json" >/dev/null || fail "index.json: values"
    jq -e '.labels.node == 7 and (.image_info | length) == 5 and .memory.index.capacity == 12' \
      "$TMP/exercise.json" >/dev/null || fail "exercise.json: structure"
    jq -e '.slots == 40 and .allocs == 60 and .affine_hits == 20 and .paths.reset == "adaptive"
           and .budget_reclaims > 0' "$TMP/mempool.json" >/dev/null || fail "mempool.json: values"
    jq -e '(.image_live | length) == 33 and (.image_live | map(.value) | add) == 20' \
      "$TMP/mempool_images.json" >/dev/null || fail "mempool_images.json: per-image series"
  fi
fi
if [ "$nfail" -ne 0 ]; then echo "$nfail check(s) failed"; exit 1; fi
echo "all checks passed"
