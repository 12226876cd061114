#!/usr/bin/env bash
# Build the channel fuzzer (preset "fuzz": clang-14, libFuzzer, ASan+UBSan)
# and run it for a bounded time on a copy of the seed corpus.
#
#   scripts/fuzz.sh              # 60 seconds
#   scripts/fuzz.sh 600          # 10 minutes
#   scripts/fuzz.sh 60 -jobs=2   # extra arguments go to libFuzzer
#
# The repository's corpus (tests/fuzz/corpus) is copied to a temporary
# directory, so what the fuzzer adds does not end up in the repository.
# A failing input is written to build/fuzz/artifacts/ (crash-*, leak-*,
# timeout-*); reproduce it with
#   build/fuzz/tests/fuzz/chan_fuzz build/fuzz/artifacts/crash-...
# or build/<preset>/tests/fuzz/fuzz_chan_replay <file>, and check it in under
# tests/fuzz/corpus/ once fixed (docs/testing.md). Exit status: 0 if the
# fuzzer found nothing, libFuzzer's (non-zero) otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-60}"
[[ $# -gt 0 ]] && shift
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
  echo "usage: $0 [seconds] [libFuzzer options...]" >&2
  exit 2
fi

scripts/deps.sh ci   # clang-14 and its runtimes (libFuzzer)

cmake --preset fuzz
cmake --build --preset fuzz   # the chan_fuzz target only

work="$(mktemp -d "${TMPDIR:-/tmp}/goro-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" build/fuzz/artifacts
cp tests/fuzz/corpus/* "$work/corpus/"

# A smaller ASan quarantine: the fuzzer runs tens of thousands of runtimes in
# one process, and the default 256 MiB quarantine is most of its RSS.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=64}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
echo "fuzz: running chan_fuzz for ${seconds}s on $(ls "$work/corpus" | wc -l) seed inputs" >&2
build/fuzz/tests/fuzz/chan_fuzz \
  -max_total_time="$seconds" \
  -max_len=160 \
  -timeout=60 \
  -rss_limit_mb=4096 \
  -print_final_stats=1 \
  -artifact_prefix="$PWD/build/fuzz/artifacts/" \
  "$@" "$work/corpus"
