#!/usr/bin/env bash
# Run goro's workload benchmarks and the Go anchors side by side, alternating
# goro/Go per workload, and print a Markdown table of medians and goro/Go ratios.
#
#   bench/compare.sh                          # 3 rounds, procs 1 and 2
#   ROUNDS=5 PROCS=2 WORKLOADS="spawn pingpong" bench/compare.sh
#   bench/compare.sh -- -n=100000             # args after -- go to both sides
#
# Environment:
#   ROUNDS (3), PROCS ("1 2"), WORKLOADS (every bench_<w> that has a Go anchor <w>),
#   SHARED (<repo>/../shared), ANCHORS_GO_TMP (/tmp/anchors-go),
#   RAW (raw RESULT lines; default build/release/bench/compare-<time>.txt),
#   TIMEOUT (300 seconds per run).
# goro's binaries are build/release/bench/bench_<w>; Go's are $ANCHORS_GO_TMP/bin/<w>.
# Both take -procs=N -n=N and print
#   RESULT name=<name> value=<v> unit=<u> procs=<p> n=<n>
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"

extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "usage: $0 [-- args for both sides]" >&2; exit 2 ;;
  esac
done

ROUNDS="${ROUNDS:-3}"
PROCS="${PROCS:-1 2}"
TIMEOUT="${TIMEOUT:-300}"
SHARED="${SHARED:-$repo/../shared}"
gobin="${ANCHORS_GO_TMP:-/tmp/anchors-go}/bin"
benchdir="$repo/build/release/bench"

scripts/deps.sh bench

# --- build goro's benchmarks (only the bench_* targets) ----------------------
cmake --preset release >&2
mapfile -t targets < <(cmake --build --preset release --target help |
                       sed -n 's/^\(bench_[A-Za-z0-9_]*\):.*/\1/p' | sort -u)
if [[ -n "${WORKLOADS:-}" ]]; then
  wanted=()
  for w in $WORKLOADS; do wanted+=("bench_$w"); done
  targets=("${wanted[@]}")
fi
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "compare: no bench_* targets in the release preset" >&2
  exit 1
fi
cmake --build --preset release --target "${targets[@]}" >&2

# --- build the Go anchors (RUNS=0: build only) -------------------------------
if [[ ! -x "$SHARED/anchors/go/run.sh" ]]; then
  echo "compare: no Go anchors at $SHARED/anchors/go (set SHARED=<dir holding anchors/>)" >&2
  exit 1
fi
RUNS=0 "$SHARED/anchors/go/run.sh" >&2

# --- pick workloads: both sides must have a binary ---------------------------
if [[ -z "${WORKLOADS:-}" ]]; then
  WORKLOADS=""
  for b in "$benchdir"/bench_*; do
    [[ -x "$b" && -f "$b" ]] || continue
    w="${b##*/bench_}"
    if [[ -x "$gobin/$w" ]]; then
      WORKLOADS+="${WORKLOADS:+ }$w"
    else
      echo "compare: skipping $w (no Go anchor $gobin/$w)" >&2
    fi
  done
fi
for w in $WORKLOADS; do
  for b in "$benchdir/bench_$w" "$gobin/$w"; do
    [[ -x "$b" ]] || { echo "compare: missing $b" >&2; exit 1; }
  done
done
[[ -n "$WORKLOADS" ]] || { echo "compare: no workload has both sides" >&2; exit 1; }

RAW="${RAW:-$benchdir/compare-$(date +%Y%m%d-%H%M%S).txt}"
mkdir -p "$(dirname "$RAW")"
: > "$RAW"
{
  echo "# goro $(git rev-parse --short HEAD 2>/dev/null || echo '?') vs $(go version)"
  echo "# rounds=$ROUNDS procs=\"$PROCS\" workloads=\"$WORKLOADS\" extra=\"${extra[*]:-}\""
} >> "$RAW"

# run <side> <procs> <binary>: append its RESULT lines, tagged with the side.
status=0
run() {
  local side="$1" p="$2" bin="$3" out rc=0
  out="$(timeout "$TIMEOUT" "$bin" -procs="$p" "${extra[@]}")" || rc=$?
  grep '^RESULT ' <<<"$out" | sed "s/^/$side procs_req=$p /" >> "$RAW" || true
  if [[ $rc -ne 0 ]]; then
    echo "compare: FAILED ($rc): $side ${bin##*/} procs=$p" >&2
    echo "# FAILED rc=$rc side=$side bin=${bin##*/} procs=$p" >> "$RAW"
    status=1
  fi
}

for r in $(seq 1 "$ROUNDS"); do
  for p in $PROCS; do
    echo "# round $r/$ROUNDS procs=$p" >&2
    for w in $WORKLOADS; do
      echo "#   $w" >&2
      run goro "$p" "$benchdir/bench_$w"
      run go   "$p" "$gobin/$w"
    done
  done
done

python3 - "$RAW" <<'PY'
import statistics, sys

rows, order = {}, []
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 3 or f[0] not in ("goro", "go") or f[2] != "RESULT":
        continue
    kv = dict(x.split("=", 1) for x in f[1:] if "=" in x)
    try:
        value = float(kv["value"])
    except (KeyError, ValueError):
        print("compare: bad line:", line.strip(), file=sys.stderr)
        continue
    key = (kv.get("name", "?"), kv.get("procs", kv.get("procs_req", "?")))
    if key not in rows:
        rows[key] = {"unit": kv.get("unit", "?"), "goro": [], "go": []}
        order.append(key)
    rows[key][f[0]].append(value)

def fmt(v):
    if v is None:
        return "—"
    return f"{v:.4g}" if abs(v) < 1e6 else f"{v:.0f}"

# Group by workload (first-seen order), procs ascending within a workload.
first = {}
for name, _ in order:
    first.setdefault(name, len(first))
order.sort(key=lambda k: (first[k[0]], float(k[1]) if k[1].replace(".", "", 1).isdigit() else 0.0))

print("| workload | procs | goro median | Go median | unit | goro/Go |")
print("|---|---:|---:|---:|---|---:|")
for key in order:
    r = rows[key]
    g = statistics.median(r["goro"]) if r["goro"] else None
    o = statistics.median(r["go"]) if r["go"] else None
    ratio = "—"
    if g is not None and o:
        better = "higher is better" if r["unit"] == "ops/s" else "lower is better"
        ratio = f"{g / o:.2f} ({better})"
    runs = f" ({len(r['goro'])}/{len(r['go'])} runs)" if len(r["goro"]) != len(r["go"]) else ""
    print(f"| {key[0]} | {key[1]} | {fmt(g)} | {fmt(o)} | {r['unit']} | {ratio}{runs} |")
PY
echo
echo "raw RESULT lines: $RAW"
exit $status
