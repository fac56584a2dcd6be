#!/usr/bin/env bash
# Undoes .ci/interop-setup.sh except for the installed packages and the work
# dir contents: stops the private nginx (by its pid file) and writes the
# /etc/hosts backup back byte for byte. Safe to run any number of times; it
# never fails the build because there is nothing (left) to clean.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$ROOT/target/interop"

say() { printf '   interop-teardown: %s\n' "$*" >&2; }

# --- nginx --------------------------------------------------------------------
PID_FILE="$WORK/nginx/nginx.pid"
if [ -s "$WORK/nginx.pidfile" ]; then
  PID_FILE="$(cat "$WORK/nginx.pidfile")"
fi
if [ -s "$PID_FILE" ]; then
  pid="$(cat "$PID_FILE")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    say "stopping nginx (pid $pid)"
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "nginx still running; sending TERM"
      kill -TERM "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  rm -f "$PID_FILE"
fi
rm -f "$WORK/nginx.pidfile"

# --- /etc/hosts ---------------------------------------------------------------
HOSTS_BACKUP="$WORK/hosts.orig"
if [ -f "$HOSTS_BACKUP" ]; then
  if cmp -s "$HOSTS_BACKUP" /etc/hosts; then
    say "/etc/hosts already as found"
  else
    # Write in place: /etc/hosts may be a bind mount that cannot be replaced.
    if cat "$HOSTS_BACKUP" >/etc/hosts && cmp -s "$HOSTS_BACKUP" /etc/hosts; then
      say "/etc/hosts restored"
    else
      say "WARNING: could not restore /etc/hosts from $HOSTS_BACKUP"
    fi
  fi
  cmp -s "$HOSTS_BACKUP" /etc/hosts && rm -f "$HOSTS_BACKUP"
fi

exit 0
