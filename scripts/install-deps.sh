#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes sure what `make check` uses is installed. Each need is probed by what
# it provides (a command, a header, a runtime: scripts/have.sh), not by
# package name, so this works on any distribution. What is missing:
#   - is installed with apt-get when apt-get exists and we are root (Debian,
#     Ubuntu; services the packages ship, prometheus's, are not started);
#   - otherwise is listed, with the Debian package names, and `make check`
#     goes on without it, skipping (and saying so) the checks that need it.
#
#   scripts/install-deps.sh            (make deps; make check runs it first)
#
# Exit status: 0 (a failed apt-get is reported, and what is still missing
# listed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

# clang's sanitizer runtimes: Debian 12 has an unversioned package for the
# default clang; with another clang, the package of its own version.
asan_pkg() {
  local major
  major="$(clang -dumpversion 2>/dev/null | cut -d. -f1)" || true
  if [ -z "$major" ] ||
    apt-cache depends libclang-rt-dev 2>/dev/null | grep -q "libclang-rt-$major-dev"; then
    echo libclang-rt-dev
  else
    echo "libclang-rt-$major-dev"
  fi
}

# probe | Debian package | what uses it
deps=(
  "cmocka|libcmocka-dev|the unit tests"
  "cmd:pkg-config|pkg-config|the install check"
  "cmd:clang|clang|the ASan+UBSan build, make lint"
  "asan|ASAN_PKG|the ASan+UBSan build"
  "cmd:valgrind|valgrind|make valgrind"
  "cmd:cppcheck|cppcheck|make lint"
  "cmd:clang-tidy|clang-tidy|make lint"
  "cmd:clang-format|clang-format|make lint (format check)"
  "cmd:doxygen|doxygen|make docs"
  "cmd:promtool|prometheus|the metrics tests (promtool)"
  "cmd:jq|jq|the JSON output tests"
  "cmd:gnuplot|gnuplot-nox|the slotpool-sim --plot tests"
  "cmd:python3|python3|the slotpool-sim model tests"
)

missing() {
  local d probe
  for d in "${deps[@]}"; do
    probe="${d%%|*}"
    # The sanitizer runtime is probed through clang: judged once clang is there.
    if [ "$probe" = asan ] && ! command -v clang >/dev/null; then
      "$here/have.sh" cmd:clang || echo "$d"
      continue
    fi
    "$here/have.sh" "$probe" || echo "$d"
  done
}

mapfile -t todo < <(missing)
if [ ${#todo[@]} -eq 0 ]; then
  echo "deps: everything make check uses is installed"
  exit 0
fi
pkgs=()
for d in "${todo[@]}"; do
  p="$(cut -d'|' -f2 <<<"$d")"
  [ "$p" = ASAN_PKG ] && p="$(asan_pkg)"
  printf '%s\n' "${pkgs[@]}" | grep -qxF "$p" || pkgs+=("$p")
done

if command -v apt-get >/dev/null && [ "$(id -u)" -eq 0 ]; then
  echo "deps: installing ${pkgs[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # Do not start the services some packages ship (prometheus) while
  # installing them: policy-rc.d is Debian's switch for that.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  then
    mapfile -t todo < <(missing)
    [ ${#todo[@]} -eq 0 ] && { echo "deps: done"; exit 0; }
  else
    echo "deps: apt-get failed (offline, or a package this system does not have)"
  fi
fi

echo "deps: missing (the checks that need them will be SKIPPED):"
for d in "${todo[@]}"; do
  IFS='|' read -r probe pkg use <<<"$d"
  [ "$pkg" = ASAN_PKG ] && pkg="$(asan_pkg)"
  printf '  %-16s for %s (Debian package %s)\n' "${probe#cmd:}" "$use" "$pkg"
done
if command -v apt-get >/dev/null && [ "$(id -u)" -ne 0 ]; then
  echo "deps: to install them: sudo apt-get install -y --no-install-recommends ${pkgs[*]}"
fi
exit 0
