#!/usr/bin/env bash
# Build goro (release preset) and run the tour example.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/deps.sh core

# The demo needs no GoogleTest; without it, configure with the tests off
# (the preset turns them back on at its next configure).
extra=()
if [[ ! -f /usr/src/googletest/CMakeLists.txt ]] &&
   [[ "$(dpkg-query -W -f='${Status}' libgtest-dev 2>/dev/null || true)" != "install ok installed" ]]; then
  extra+=(-DGORO_BUILD_TESTS=OFF)
fi

cmake --preset release "${extra[@]}"
cmake --build --preset release --target tour
build/release/examples/tour
