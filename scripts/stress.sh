#!/usr/bin/env bash
# Build and run the soak test (tests/stress/soak.cpp) with one CMake preset.
#
#   scripts/stress.sh                     # preset asan (ASan+UBSan+LSan), 30 s
#   scripts/stress.sh tsan 60             # preset, seconds
#   scripts/stress.sh asan 120 --procs=16 # extra arguments go to the soak test
#
# The seconds are split evenly over the procs values (default 1, 2 and 16).
# Exit status: the soak test's (0 ok, 1 a failed invariant, 3 no progress:
# a lost wakeup or a hang), or the sanitizer's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

preset="${1:-asan}"
seconds="${2:-30}"
[[ $# -gt 0 ]] && shift
[[ $# -gt 0 ]] && shift
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
  echo "usage: $0 [preset] [seconds] [soak options...]" >&2
  exit 2
fi

if [[ "$preset" == aarch64 ]]; then
  echo "stress.sh: the aarch64 preset cross-compiles; run build/aarch64/tests/stress/goro_soak under qemu-aarch64 yourself" >&2
  exit 2
fi

case "$preset" in
  debug|release) scripts/deps.sh test ;;
  *)             scripts/deps.sh ci ;;
esac

cmake --preset "$preset"
cmake --build --preset "$preset" --target goro_soak

# The same sanitizer options as the test presets (CMakePresets.json).
case "$preset" in
  asan)
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" ;;
  tsan)
    export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}" ;;
esac

echo "stress: $preset, ${seconds}s" >&2
build/"$preset"/tests/stress/goro_soak --seconds="$seconds" "$@"
