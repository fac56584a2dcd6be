#!/usr/bin/env bash
# GET throughput of Broadside beside nginx serving the same bytes as static files
# (issue #3; targets in #7). Usage, from anywhere in the repository:
#
#   bash benches/http.sh            # DURATION=10s CONNECTIONS=64 REPEAT=3 by default
#
# Other settings: ONLY="actor JSON" (one resource), MODES=close (one mode), BROADSIDE_BIN=FILE
# (measure that binary instead of building one), PERF_DATA=FILE (profile the server with perf).
#
# Builds target/release/broadside, starts it on SQLite in a temporary folder under target/tmp
# with one account and one published statement (made with the CLI), fetches the actor JSON,
# the post's JSON and the post's HTML page from it, writes those bytes under
# target/bench-nginx/ and serves them with a private nginx. Then, for each resource, wrk runs
# against Broadside and right after against nginx, REPEAT times: keep-alive, then a new
# connection per request ("Connection: close"). Prints a Markdown table of medians (the ratio
# is the median of the per-pair ratios, with their range), then Broadside's peak memory; raw
# wrk output goes to target/bench-nginx/wrk.log. Everything listens on 127.0.0.1 and is stopped on exit.
# Needs wrk, nginx and curl (apt-get install wrk nginx-light curl).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
REPEAT="${REPEAT:-3}"
BROADSIDE_PORT="${BROADSIDE_PORT:-18080}"
NGINX_PORT="${NGINX_PORT:-18081}"
NGINX_DIR="$ROOT/target/bench-nginx"

# shellcheck source=benches/common.sh
source "$ROOT/benches/common.sh"
require_tools http.sh "apt-get install wrk nginx-light curl" wrk nginx curl
require_free_ports http.sh "BROADSIDE_PORT / NGINX_PORT" "$BROADSIDE_PORT" "$NGINX_PORT"
# BROADSIDE_BIN measures another build (e.g. an older commit's binary) instead.
broadside_binary

mkdir -p "$ROOT/target/tmp"
WORK="$(mktemp -d "$ROOT/target/tmp/http-bench.XXXXXX")"
BROADSIDE_PID=""
PERF_PID=""
NGINX_STARTED=""
cleanup() {
  if [ -n "$BROADSIDE_PID" ]; then
    kill "$BROADSIDE_PID" 2>/dev/null || true
    wait "$BROADSIDE_PID" 2>/dev/null || true
  fi
  if [ -n "$PERF_PID" ]; then
    wait "$PERF_PID" 2>/dev/null || true
  fi
  if [ -n "$NGINX_STARTED" ]; then
    nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log" -s stop \
      2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export BROADSIDE_BASE_URL="http://localhost:$BROADSIDE_PORT"
export BROADSIDE_LISTEN="127.0.0.1:$BROADSIDE_PORT"
export BROADSIDE_DATABASE_URL="sqlite://$WORK/broadside.db"
export BROADSIDE_DATA_DIR="$WORK/data"
export BROADSIDE_LOG="${BROADSIDE_LOG:-warn}"

"$BIN" actor create isg --name ISG >/dev/null
POST_URL="$("$BIN" post publish --actor isg --kind statement \
  --title "On the benchmark" \
  --body "$(printf '%s\n\n' \
    'We publish statements to the fediverse and the web alike; this one is measured.' \
    'When a statement spreads, thousands of servers fetch the same page and the same JSON within seconds, and each of them must get an answer quickly.' \
    'The text is a few paragraphs long, as statements usually are, so the page carries a realistic amount of HTML around it: header, profile, footer, and the post itself.')" \
  | tail -n 1)"
ACTOR_URL="$BROADSIDE_BASE_URL/users/isg"

# PERF_DATA=FILE samples the server with perf (cpu-clock, call graphs) while wrk runs.
if [ -n "${PERF_DATA:-}" ]; then
  perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -o "$PERF_DATA" -- \
    "$BIN" serve >"$WORK/serve.log" 2>&1 &
  PERF_PID=$!
  for _ in $(seq 100); do
    BROADSIDE_PID="$(pgrep -P "$PERF_PID" || true)"
    if [ -n "$BROADSIDE_PID" ]; then break; fi
    sleep 0.05
  done
else
  "$BIN" serve >"$WORK/serve.log" 2>&1 &
  BROADSIDE_PID=$!
fi
for _ in $(seq 200); do
  if curl -fsS -o /dev/null "$BROADSIDE_BASE_URL/healthz" 2>/dev/null; then break; fi
  if ! kill -0 "$BROADSIDE_PID" 2>/dev/null; then
    cat "$WORK/serve.log" >&2
    exit 1
  fi
  sleep 0.05
done
curl -fsS -o /dev/null "$BROADSIDE_BASE_URL/healthz"

# name|url|Accept|file
RESOURCES=(
  "actor JSON|$ACTOR_URL|application/activity+json|actor.json"
  "post JSON|$POST_URL|application/activity+json|post.json"
  "post HTML|$POST_URL|text/html|post.html"
)

rm -rf "$NGINX_DIR"
mkdir -p "$NGINX_DIR/www" "$NGINX_DIR/tmp"
LOCATIONS=""
SERVED=()
for entry in "${RESOURCES[@]}"; do
  IFS='|' read -r name url accept file <<<"$entry"
  status="$(curl -sS -H "Accept: $accept" -o "$NGINX_DIR/www/$file" -D "$NGINX_DIR/$file.headers" \
    -w '%{http_code}' "$url")"
  if [ "$status" != 200 ]; then
    echo "http.sh: $name ($url) answered $status; not measured" >&2
    rm -f "$NGINX_DIR/www/$file"
    continue
  fi
  type="$(grep -i '^content-type:' "$NGINX_DIR/$file.headers" | head -n 1 | cut -d' ' -f2- | tr -d '\r')"
  LOCATIONS+="    location = /$file { default_type \"$type\"; }"$'\n'
  SERVED+=("$entry|$type")
done
chmod -R a+rX "$NGINX_DIR"

# As close to Broadside's work as a static server gets: no access log, same worker count as
# cores, keep-alive without a request cap within one run.
cat >"$NGINX_DIR/nginx.conf" <<EOF
worker_processes auto;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $NGINX_DIR/tmp/body;
  proxy_temp_path $NGINX_DIR/tmp/proxy;
  fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
  uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
  scgi_temp_path $NGINX_DIR/tmp/scgi;
  types { }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $NGINX_DIR/www;
$LOCATIONS  }
}
EOF
nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log"
NGINX_STARTED=1
for _ in $(seq 100); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$NGINX_PORT/" 2>/dev/null ||
    ss -Htln "sport = :$NGINX_PORT" | grep -q .; then break; fi
  sleep 0.05
done

# Runs wrk; prints "requests/s p99_ms errors".
measure() {
  local url="$1" accept="$2" mode="$3" out
  local extra=()
  if [ "$mode" = close ]; then extra=(-H "Connection: close"); fi
  out="$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --latency --timeout 5s \
    -H "Accept: $accept" "${extra[@]}" "$url")"
  printf "%s\n" "$out" >>"$NGINX_DIR/wrk.log"
  awk '
    function to_ms(v) {
      if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
      if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
      if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
      return v
    }
    /Requests\/sec:/ { rps = $2 }
    /^ +99%/ { p99 = to_ms($2) }
    /Non-2xx or 3xx responses:/ { errors += $NF }
    /Socket errors:/ { gsub(",", ""); errors += $4 + $6 + $8 + $10 }
    END { printf "%.0f %.2f %d\n", rps, p99, errors }
  ' <<<"$out"
}

# The median of a list of numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print v[int((NR + 1) / 2)] }'; }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $("$BIN" --version 2>/dev/null || echo broadside)" \
  "at commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')," \
  "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $REPEAT pair(s) per row, $(nproc) cores," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| resource | bytes | connections | Broadside req/s | p99 ms | nginx req/s | p99 ms | Broadside/nginx (range) | errors B/n |"
echo "|---|---|---|---|---|---|---|---|---|"
for entry in "${SERVED[@]}"; do
  IFS='|' read -r name url accept file _type <<<"$entry"
  if [ -n "${ONLY:-}" ] && [ "$name" != "$ONLY" ]; then continue; fi
  bytes="$(wc -c <"$NGINX_DIR/www/$file")"
  for mode in ${MODES:-keep-alive close}; do
    b_rps=() b_p99=() n_rps=() n_p99=() ratios=() b_err=0 n_err=0
    # Broadside then nginx, back to back, REPEAT times: other load on the machine hits both.
    for _ in $(seq "$REPEAT"); do
      read -r rps p99 err <<<"$(measure "$url" "$accept" "$mode")"
      b_rps+=("$rps") b_p99+=("$p99") b_err=$((b_err + err))
      read -r n_one n_p99_one err <<<"$(measure "http://127.0.0.1:$NGINX_PORT/$file" "$accept" "$mode")"
      n_rps+=("$n_one") n_p99+=("$n_p99_one") n_err=$((n_err + err))
      ratios+=("$(awk -v b="$rps" -v n="$n_one" 'BEGIN { if (n > 0) printf "%.2f", b / n; else print 0 }')")
    done
    range="$(printf '%s\n' "${ratios[@]}" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "–" hi }')"
    echo "| $name | $bytes | $mode | $(printf '%s\n' "${b_rps[@]}" | median) |" \
      "$(printf '%s\n' "${b_p99[@]}" | median) | $(printf '%s\n' "${n_rps[@]}" | median) |" \
      "$(printf '%s\n' "${n_p99[@]}" | median) | $(printf '%s\n' "${ratios[@]}" | median) ($range) |" \
      "$b_err/$n_err |"
  done
done

# Target 5 asks for at most 100 MB during these runs.
echo
echo "Broadside's peak memory during the runs (VmHWM):" \
  "$(awk '/^VmHWM:/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$BROADSIDE_PID/status")"
