#!/usr/bin/env bash
# Run goro's gbench_sync and Go's own sync and context benchmarks (`go test
# -bench` in the installed Go's standard library) alternately, benchmark by
# benchmark, and print a Markdown table of medians (ns/op) and goro/Go.
#
#   bench/compare_sync.sh                               # 3 rounds, procs 1,2
#   ROUNDS=5 BENCHES="Mutex Cond32" bench/compare_sync.sh
#
# Environment:
#   ROUNDS (3), PROCS ("1,2"), BENCHTIME (0.5s per benchmark and side),
#   BENCHES (default: every mirrored benchmark, see below),
#   GOCACHE_DIR (/tmp/anchors-go/cache), RAW (raw lines; default
#   build/release/bench/compare_sync-<time>.txt).
# goro's side is build/release/bench/gbench_sync (Google Benchmark, real
# time per operation); Go's side is `go test -run XXX -bench '^Benchmark<X>$'
# -cpu $PROCS` in $(go env GOROOT)/src/{sync,context}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"

ROUNDS="${ROUNDS:-3}"
PROCS="${PROCS:-1,2}"
BENCHTIME="${BENCHTIME:-0.5s}"
sync_benches="Mutex MutexSlack MutexWork RWMutexWrite100 RWMutexWrite10 WaitGroupUncontended WaitGroupAddDone Once Cond1 Cond8 Cond32"
context_benches="CancelTree WithTimeout"
BENCHES="${BENCHES:-$sync_benches $context_benches}"

scripts/deps.sh bench
cmake --preset release >&2
cmake --build --preset release --target gbench_sync >&2
gbench="$repo/build/release/bench/gbench_sync"

goroot="$(go env GOROOT)"
export GOCACHE="${GOCACHE_DIR:-/tmp/anchors-go/cache}" GOFLAGS="" GO111MODULE=auto
mkdir -p "$GOCACHE"

RAW="${RAW:-$repo/build/release/bench/compare_sync-$(date +%Y%m%d-%H%M%S).txt}"
: > "$RAW"
echo "# goro $(git rev-parse --short HEAD 2>/dev/null || echo '?') vs $(go version); rounds=$ROUNDS procs=$PROCS benchtime=$BENCHTIME" >> "$RAW"

package_of() {
  case " $context_benches " in *" $1 "*) echo context ;; *) echo sync ;; esac
}

# Lines "<side> <name> <procs> <ns/op>"; names without the -<procs> suffix.
for r in $(seq 1 "$ROUNDS"); do
  for b in $BENCHES; do
    echo "# round $r/$ROUNDS: $b" >&2
    "$gbench" --procs="$PROCS" --benchmark_filter="^Benchmark$b[-/]" \
        --benchmark_min_time="${BENCHTIME%s}" 2>/dev/null |
      awk '$1 ~ /^Benchmark/ && $3 == "ns" {
             name = $1; sub(/\/real_time$/, "", name)
             n = split(name, parts, "-"); procs = parts[n]
             sub(/-[0-9]+$/, "", name)
             print "goro", name, procs, $2 }' >> "$RAW"
    (cd "$goroot/src/$(package_of "$b")" &&
       go test -run XXX -bench "^Benchmark$b\$" -cpu "$PROCS" -benchtime "$BENCHTIME" 2>/dev/null) |
      awk '$1 ~ /^Benchmark/ && $4 == "ns/op" {
             name = $1; procs = 1
             if (match(name, /-[0-9]+$/)) { procs = substr(name, RSTART + 1); name = substr(name, 1, RSTART - 1) }
             print "go", name, procs, $3 }' >> "$RAW"
  done
done

python3 - "$RAW" <<'PY'
import statistics, sys
rows, order = {}, []
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) != 4 or f[0] not in ("goro", "go"):
        continue
    key = (f[1], int(f[2]))
    if key not in rows:
        rows[key] = {"goro": [], "go": []}
        order.append(key)
    rows[key][f[0]].append(float(f[3]))
def fmt(v):
    return "—" if v is None else (f"{v:.3g}" if v < 100 else f"{v:.0f}")
print("| benchmark | procs | goro ns/op | Go ns/op | goro/Go |")
print("|---|---:|---:|---:|---:|")
for key in order:
    r = rows[key]
    g = statistics.median(r["goro"]) if r["goro"] else None
    o = statistics.median(r["go"]) if r["go"] else None
    ratio = f"{g / o:.2f}" if g is not None and o else "—"
    print(f"| {key[0]} | {key[1]} | {fmt(g)} | {fmt(o)} | {ratio} |")
PY
echo
echo "raw lines: $RAW"
