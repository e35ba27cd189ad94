#!/usr/bin/env bash
# Installs slotpool from BUILD_DIR into a temporary prefix and builds an
# example against it twice, as users would: with pkg-config and with CMake's
# find_package(slotpool). Usage: scripts/check-install.sh BUILD_DIR
set -euo pipefail
build="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pc_dir="$(dirname "$(find "$tmp/prefix" -name slotpool.pc | head -1)")"
export PKG_CONFIG_PATH="$pc_dir"
cc -std=c11 -Wall -Wextra -Werror "$root/examples/affinity_demo.c" -o "$tmp/demo_pc" \
  $(pkg-config --cflags --libs slotpool) -lm -Wl,-rpath,"$tmp/prefix/lib" \
  -Wl,-rpath,"$(pkg-config --variable=libdir slotpool)"
"$tmp/demo_pc" >/dev/null
echo "check-install: pkg-config build of examples/affinity_demo.c runs"
mkdir -p "$tmp/consumer"
cat >"$tmp/consumer/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(slotpool REQUIRED)
add_executable(demo "$root/examples/affinity_demo.c")
target_link_libraries(demo PRIVATE slotpool::slotpool m)
CM
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer/build" >/dev/null
"$tmp/consumer/build/demo" >/dev/null
echo "check-install: find_package(slotpool) build of examples/affinity_demo.c runs"
