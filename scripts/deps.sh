#!/usr/bin/env bash
# Make sure the Debian packages goro's build needs are installed.
#
#   scripts/deps.sh [core|test|ci|bench]     (default: core)
#
#   core   cmake ninja-build g++ make pkg-config libunwind-dev libdw-dev
#                                                         configure and build
#                                                         (the last two: goroutine
#                                                         dumps with stacks and lines)
#   test   core + googletest libgtest-dev                 run the tests
#   ci     test + clang-14 libclang-rt-14-dev g++-aarch64-linux-gnu qemu-user
#          libc6-dev-arm64-cross                          every preset (.ci/run);
#                                                         libclang-rt-14-dev: the
#                                                         sanitizer and libFuzzer runtimes
#   bench  test + golang-go libbenchmark-dev              bench/compare.sh
#
# As root, missing packages are installed with apt-get (one `apt-get update`,
# only if something is missing). Otherwise the missing packages are listed and
# the script exits 1.
set -euo pipefail

core=(cmake ninja-build g++ make pkg-config libunwind-dev libdw-dev)
test=(googletest libgtest-dev)
ci=(clang-14 libclang-rt-14-dev g++-aarch64-linux-gnu qemu-user libc6-dev-arm64-cross)
bench=(golang-go libbenchmark-dev)

level="${1:-core}"
case "$level" in
  core)  wanted=("${core[@]}") ;;
  test)  wanted=("${core[@]}" "${test[@]}") ;;
  ci)    wanted=("${core[@]}" "${test[@]}" "${ci[@]}") ;;
  bench) wanted=("${core[@]}" "${test[@]}" "${bench[@]}") ;;
  -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
  *) echo "usage: $0 [core|test|ci|bench]" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps.sh: dpkg-query not found; this script knows Debian/Ubuntu only." >&2
  echo "deps.sh: install the equivalents of: ${wanted[*]}" >&2
  exit 1
fi

missing=()
for pkg in "${wanted[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
  echo "deps.sh: missing packages for '$level': ${missing[*]}" >&2
  echo "deps.sh: install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
