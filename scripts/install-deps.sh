#!/usr/bin/env bash
# Installs the Debian packages that building and testing slotpool need and a
# fresh machine may lack. As root it runs apt-get; otherwise it prints the
# exact command to run and fails. Usage: scripts/install-deps.sh [extra-pkg...]
set -euo pipefail
need=(libcmocka-dev pkg-config clang libclang-rt-14-dev valgrind cppcheck clang-tidy "$@")
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
