#!/usr/bin/env bash
# Check that an installed goro works as a CMake package: build goro (Release,
# no tests/benchmarks/examples), `cmake --install` it into a temporary prefix,
# then configure, build and run tests/install/consumer against that prefix
# with find_package(goro CONFIG REQUIRED). Done for a static and a shared goro.
#
#   scripts/check-install.sh            # static and shared
#   SHARED="ON" scripts/check-install.sh
#   KEEP=1 scripts/check-install.sh     # keep the temporary directory
# The compilers come from the environment (CC/CXX), as for any CMake project.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/goro-install.XXXXXX")"
if [[ "${KEEP:-0}" == 1 ]]; then
  echo "check-install: keeping $tmp" >&2
else
  trap 'rm -rf "$tmp"' EXIT
fi

gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)

for shared in ${SHARED:-OFF ON}; do
  echo "=== check-install: BUILD_SHARED_LIBS=$shared ===" >&2
  build="$tmp/build-$shared" prefix="$tmp/prefix-$shared" consumer="$tmp/consumer-$shared"

  cmake -S "$repo" -B "$build" "${gen[@]}" \
    -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS="$shared" \
    -DGORO_BUILD_TESTS=OFF -DGORO_BUILD_BENCHMARKS=OFF -DGORO_BUILD_EXAMPLES=OFF \
    -DGORO_INSTALL=ON
  cmake --build "$build"
  cmake --install "$build" --prefix "$prefix"

  cmake -S "$repo/tests/install/consumer" -B "$consumer" "${gen[@]}" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix"
  cmake --build "$consumer"
  "$consumer/consumer"
  echo "=== check-install: BUILD_SHARED_LIBS=$shared ok ===" >&2
done
