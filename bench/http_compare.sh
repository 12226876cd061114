#!/usr/bin/env bash
# Load goro's examples/http_hello and a Go net/http hello server
# (bench/anchors/http_hello, standard library only) with wrk, alternating
# goro/Go, and print requests/s per run, the means and the goro/Go ratio.
#
#   bench/http_compare.sh                      # 2 rounds, wrk -t2 -c256 -d10s, procs 2
#   ROUNDS=3 PROCS=1 DURATION=5s bench/http_compare.sh
#
# Environment: ROUNDS (2), PROCS (2: GOMAXPROCS for both servers), THREADS (2),
# CONNS (256), DURATION (10s), PORT (18080: goro; PORT+1: Go),
# HTTP_GO_TMP (/tmp/http-compare: the Go build). goro's server is built in
# the release preset (build/release/examples/http_hello). wrk is installed
# with apt-get if missing (as root). Loopback only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"

ROUNDS="${ROUNDS:-2}"
PROCS="${PROCS:-2}"
THREADS="${THREADS:-2}"
CONNS="${CONNS:-256}"
DURATION="${DURATION:-10s}"
PORT="${PORT:-18080}"
tmp="${HTTP_GO_TMP:-/tmp/http-compare}"

case "${1:-}" in
  -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
  "") ;;
  *) echo "usage: $0 (settings come from the environment; see --help)" >&2; exit 2 ;;
esac

# --- tools -------------------------------------------------------------------
scripts/deps.sh bench >&2   # cmake, g++, Go
if ! command -v wrk >/dev/null 2>&1; then
  if [[ "$(id -u)" -eq 0 ]]; then
    echo "http_compare: installing wrk" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk >&2 ||
      { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk >&2; }
  else
    echo "http_compare: wrk is missing; install it with: sudo apt-get install wrk" >&2
    exit 1
  fi
fi

# --- build both servers ----------------------------------------------------------
cmake --preset release >&2
cmake --build --preset release --target http_hello >&2
goro_bin="$repo/build/release/examples/http_hello"
mkdir -p "$tmp"
(cd "$repo/bench/anchors/http_hello" &&
   GOCACHE="$tmp/cache" GOPATH="$tmp/gopath" GOFLAGS="" GO111MODULE=on go build -o "$tmp/http_hello" .) >&2
go_bin="$tmp/http_hello"

# --- one measurement ---------------------------------------------------------------
server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; true; }
trap cleanup EXIT

wait_listening() {  # wait_listening <port>: up to 5 s
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

# measure <side> <binary> <port>: prints requests/s
measure() {
  local side="$1" bin="$2" port="$3" out rps
  GOMAXPROCS="$PROCS" "$bin" "127.0.0.1:$port" > "$tmp/$side.server.log" 2>&1 &
  server_pid=$!
  if ! wait_listening "$port"; then
    echo "http_compare: $side server did not start (see $tmp/$side.server.log)" >&2
    exit 1
  fi
  out="$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "http://127.0.0.1:$port/")"
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  if grep -q "Non-2xx or 3xx responses\|Socket errors" <<<"$out"; then
    echo "http_compare: $side: wrk reported errors:" >&2
    grep "Non-2xx\|Socket errors" <<<"$out" >&2
  fi
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  [[ -n "$rps" ]] || { echo "http_compare: no Requests/sec from wrk for $side:" >&2; echo "$out" >&2; exit 1; }
  echo "$rps"
}

echo "# wrk -t$THREADS -c$CONNS -d$DURATION, GOMAXPROCS=$PROCS, $(go version | awk '{print $3}'), goro $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
goro_runs=() go_runs=()
for r in $(seq 1 "$ROUNDS"); do
  g="$(measure goro "$goro_bin" "$PORT")"
  o="$(measure go "$go_bin" "$((PORT + 1))")"
  echo "round $r: goro $g req/s, Go $o req/s"
  goro_runs+=("$g")
  go_runs+=("$o")
done

python3 - "${goro_runs[*]}" "${go_runs[*]}" <<'PY'
import statistics, sys
goro = [float(x) for x in sys.argv[1].split()]
go = [float(x) for x in sys.argv[2].split()]
g, o = statistics.mean(goro), statistics.mean(go)
print()
print("| server | requests/s (mean) | runs |")
print("|---|---:|---|")
print(f"| goro examples/http_hello | {g:.0f} | {', '.join(f'{x:.0f}' for x in goro)} |")
print(f"| Go net/http | {o:.0f} | {', '.join(f'{x:.0f}' for x in go)} |")
print()
print(f"goro/Go = {g / o:.2f} (higher is better)")
PY
