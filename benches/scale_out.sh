#!/usr/bin/env bash
# GET throughput across web processes on one PostgreSQL (issue #7, target 6). Usage, from
# anywhere in the repository:
#
#   bash benches/scale_out.sh     # DURATION=10s CONNECTIONS=64 REPEAT=3 by default
#
# Other settings: DATABASE_URL=postgres://… (the server to use; default the local
# postgres@127.0.0.1:5432), BROADSIDE_BIN=FILE (measure that binary instead of building one),
# THREADS_PER_PROCESS="2 1" (the threads each process runs, one table row per value: as
# many tokio worker threads and as many HTTP connection threads, `http_threads`).
#
# Makes a fresh database broadside_bench_scale_out on that server, an account and one
# published statement (with the CLI), then starts one `serve --role worker` and two
# `serve --role web` on ports A and B, all on that database. For each setting it measures
# the post's JSON (keep-alive, `Accept: application/activity+json`), REPEAT times:
#   one   — wrk -t2 -cCONNECTIONS against A alone;
#   two   — two wrk -t1 -c(CONNECTIONS/2) at once, one against A and one against B; the
#           figure is the sum of the two.
# Prints a Markdown table of medians; raw wrk output goes to target/bench-scale-out/wrk.log.
# Everything listens on 127.0.0.1 and is stopped (and the database dropped) on exit.
# Needs wrk, curl and psql.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
REPEAT="${REPEAT:-3}"
THREADS_PER_PROCESS="${THREADS_PER_PROCESS:-2 1}"
PORT_A="${PORT_A:-18090}"
PORT_B="${PORT_B:-18091}"
SERVER_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DATABASE=broadside_bench_scale_out
OUT="$ROOT/target/bench-scale-out"

# shellcheck source=benches/common.sh
source "$ROOT/benches/common.sh"
require_tools scale_out.sh "apt-get install wrk curl postgresql-client" wrk curl psql
require_free_ports scale_out.sh "PORT_A / PORT_B" "$PORT_A" "$PORT_B"
broadside_binary

# The same server, another database: replace the path of the URL.
DB_URL="${SERVER_URL%/*}/$DATABASE"
psql -q "$SERVER_URL" -c "DROP DATABASE IF EXISTS $DATABASE" -c "CREATE DATABASE $DATABASE"

rm -rf "$OUT"
mkdir -p "$OUT"
PIDS=()
stop_servers() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_servers
  psql -q "$SERVER_URL" -c "DROP DATABASE IF EXISTS $DATABASE" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every process serves the same site: one base URL, as behind a load balancer.
export BROADSIDE_BASE_URL="http://localhost:$PORT_A"
export BROADSIDE_DATABASE_URL="$DB_URL"
export BROADSIDE_DATA_DIR="$OUT/data"
export BROADSIDE_LOG="${BROADSIDE_LOG:-warn}"

"$BIN" actor create isg --name ISG >/dev/null
POST_PATH="$("$BIN" post publish --actor isg --kind statement --title "On scaling out" \
  --body "A statement fetched by many servers at once, served by two web processes." |
  tail -n 1 | sed -E 's#^https?://[^/]+##')"

# Starts the worker and the two web processes with $1 worker and $1 connection threads each.
start_servers() {
  local threads="$1"
  export TOKIO_WORKER_THREADS="$threads" BROADSIDE_HTTP_THREADS="$threads"
  "$BIN" serve --role worker >"$OUT/worker.log" 2>&1 &
  PIDS+=($!)
  for port in "$PORT_A" "$PORT_B"; do
    BROADSIDE_LISTEN="127.0.0.1:$port" "$BIN" serve --role web >"$OUT/web-$port.log" 2>&1 &
    PIDS+=($!)
  done
  for port in "$PORT_A" "$PORT_B"; do
    for _ in $(seq 200); do
      if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then break; fi
      sleep 0.05
    done
    # Fills this process's page cache: what is measured is the cached GET.
    curl -fsS -o /dev/null -H 'Accept: application/activity+json' "http://127.0.0.1:$port$POST_PATH"
  done
}

# Runs wrk with $1 threads and $2 connections against port $3; prints requests/s.
wrk_rps() {
  local out
  out="$(wrk -t "$1" -c "$2" -d "$DURATION" --timeout 5s \
    -H 'Accept: application/activity+json' "http://127.0.0.1:$3$POST_PATH")"
  printf "%s\n" "$out" >>"$OUT/wrk.log"
  awk '/Requests\/sec:/ { printf "%.0f\n", $2 }' <<<"$out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print v[int((NR + 1) / 2)] }'; }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), broadside at commit" \
  "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), post JSON, keep-alive," \
  "$CONNECTIONS connections, $DURATION, $REPEAT run(s) per row, $(nproc) cores," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| threads per process | one web process req/s | two web processes req/s (A + B) | two / one |"
echo "|---|---|---|---|"
for threads in $THREADS_PER_PROCESS; do
  start_servers "$threads"
  ones=() twos=() sums=()
  for _ in $(seq "$REPEAT"); do
    ones+=("$(wrk_rps 2 "$CONNECTIONS" "$PORT_A")")
    wrk_rps 1 $((CONNECTIONS / 2)) "$PORT_A" >"$OUT/a" &
    a_pid=$!
    b="$(wrk_rps 1 $((CONNECTIONS / 2)) "$PORT_B")"
    wait "$a_pid"
    twos+=("$(cat "$OUT/a") + $b")
    sums+=("$(($(cat "$OUT/a") + b))")
  done
  one="$(printf '%s\n' "${ones[@]}" | median)"
  sum="$(printf '%s\n' "${sums[@]}" | median)"
  echo "| $threads | $one | $sum ($(printf '%s; ' "${twos[@]}" | sed 's/; $//')) |" \
    "$(awk -v s="$sum" -v o="$one" 'BEGIN { printf "%.2f", s / o }') |"
  stop_servers
done
