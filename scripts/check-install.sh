#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs slotpool from BUILD_DIR into a temporary prefix, as a user would
# install it outside the system directories, and checks what was installed:
#   - the libraries the build was asked for (SP_BUILD_SHARED, SP_BUILD_STATIC)
#     and no other, the headers, the man pages when `make docs` built them;
#   - slotpool.pc names that prefix as an absolute path;
#   - examples/affinity_demo.c builds and runs against it with pkg-config,
#     found at run time through an rpath and through LD_LIBRARY_PATH, and
#     linked statically when the static library is installed;
#   - the same with CMake's find_package(slotpool);
#   - a staged install (DESTDIR, prefix /usr) writes a .pc that says /usr.
#
#   scripts/check-install.sh BUILD_DIR
set -euo pipefail
build="$(cd "$1" && pwd)"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
demo="$root/examples/affinity_demo.c"
fail() { echo "check-install: FAILED: $*" >&2; exit 1; }

cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
want_shared="$(cache SP_BUILD_SHARED)" want_static="$(cache SP_BUILD_STATIC)"

cmake --install "$build" --prefix "$prefix" >/dev/null
pc="$(find "$prefix" -name slotpool.pc | head -1)"
[ -n "$pc" ] || fail "no slotpool.pc installed"
libdir="$(dirname "$(dirname "$pc")")"

# What was installed.
so="$(find "$libdir" -maxdepth 1 -name 'libslotpool.so*' | wc -l)"
ar="$(find "$libdir" -maxdepth 1 -name libslotpool.a | wc -l)"
case "$want_shared" in
ON) [ "$so" -gt 0 ] || fail "SP_BUILD_SHARED=ON but no libslotpool.so installed" ;;
*) [ "$so" -eq 0 ] || fail "SP_BUILD_SHARED=OFF but libslotpool.so installed" ;;
esac
case "$want_static" in
ON) [ "$ar" -eq 1 ] || fail "SP_BUILD_STATIC=ON but no libslotpool.a installed" ;;
*) [ "$ar" -eq 0 ] || fail "SP_BUILD_STATIC=OFF but libslotpool.a installed" ;;
esac
[ -f "$prefix/include/slotpool.h" ] || fail "no include/slotpool.h installed"
if [ -d "$build/docs/man/man3" ]; then
  [ -f "$prefix/share/man/man3/sp_version.3slotpool" ] || fail "man pages were built but not installed"
fi
echo "check-install: installed libraries as asked (shared $want_shared, static $want_static)"

# slotpool.pc: an absolute prefix, the one installed to.
grep -qxF "prefix=$prefix" "$pc" || fail "slotpool.pc does not say prefix=$prefix: $(grep '^prefix=' "$pc")"
if grep -q '\.\.' "$pc"; then fail "slotpool.pc holds a relative path: $(cat "$pc")"; fi

have_pc=0
"$root/scripts/need.sh" check-install/pkg-config cmd:pkg-config || have_pc=$?
[ "$have_pc" -le 1 ] || exit 1
if [ "$have_pc" -eq 0 ]; then
  export PKG_CONFIG_PATH="$(dirname "$pc")"
  [ "$(pkg-config --variable=prefix slotpool)" = "$prefix" ] || fail "pkg-config prefix"
  [ "$(pkg-config --modversion slotpool)" = "$(cache CMAKE_PROJECT_VERSION)" ] ||
    fail "pkg-config --modversion says $(pkg-config --modversion slotpool)"
  if [ "$want_shared" = ON ]; then
    # A prefix outside the loader's search path: an rpath from pkg-config...
    cc -std=c11 -Wall -Wextra -Werror "$demo" -o "$tmp/demo_rpath" \
      $(pkg-config --cflags --libs slotpool) -lm \
      -Wl,-rpath,"$(pkg-config --variable=libdir slotpool)"
    "$tmp/demo_rpath" >/dev/null
    # ...or LD_LIBRARY_PATH at run time.
    cc -std=c11 -Wall -Wextra -Werror "$demo" -o "$tmp/demo_ldpath" \
      $(pkg-config --cflags --libs slotpool) -lm
    LD_LIBRARY_PATH="$(pkg-config --variable=libdir slotpool)" "$tmp/demo_ldpath" >/dev/null
    echo "check-install: pkg-config build of examples/affinity_demo.c runs (rpath, LD_LIBRARY_PATH)"
  fi
  if [ "$want_static" = ON ]; then
    cc -std=c11 -Wall -Wextra -Werror "$demo" -o "$tmp/demo_static" \
      $(pkg-config --cflags slotpool) "$(pkg-config --variable=libdir slotpool)/libslotpool.a" \
      $(pkg-config --static --libs-only-other slotpool) -lm
    if ldd "$tmp/demo_static" 2>/dev/null | grep -q libslotpool; then
      fail "the static build links libslotpool.so"
    fi
    "$tmp/demo_static" >/dev/null
    echo "check-install: pkg-config static build of examples/affinity_demo.c runs"
  fi
fi

mkdir -p "$tmp/consumer"
cat >"$tmp/consumer/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(slotpool 0.2 REQUIRED)
add_executable(demo "$demo")
target_link_libraries(demo PRIVATE slotpool::slotpool m)
CM
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/consumer/build" >/dev/null
"$tmp/consumer/build/demo" >/dev/null
echo "check-install: find_package(slotpool) build of examples/affinity_demo.c runs"

# A package build: staged under DESTDIR for prefix /usr.
DESTDIR="$tmp/stage" cmake --install "$build" --prefix /usr >/dev/null
spc="$(find "$tmp/stage" -name slotpool.pc | head -1)"
grep -qxF "prefix=/usr" "$spc" || fail "staged slotpool.pc: $(grep '^prefix=' "$spc")"
if grep -q "$tmp" "$spc"; then fail "staged slotpool.pc names the staging directory"; fi
echo "check-install: staged install (DESTDIR, prefix /usr) writes prefix=/usr"
