#!/usr/bin/env bash
# Configure, build and run goro's tests with one CMake preset.
#
#   scripts/test.sh                  # preset "debug" (g++)
#   PRESET=asan scripts/test.sh      # clang | asan | tsan | aarch64 | release
#   scripts/test.sh -R chan          # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

preset="${PRESET:-debug}"
case "$preset" in
  debug|release) scripts/deps.sh test ;;
  *)             scripts/deps.sh ci ;;   # clang-14, cross compiler, qemu
esac

cmake --preset "$preset"
cmake --build --preset "$preset"
ctest --preset "$preset" "$@"
