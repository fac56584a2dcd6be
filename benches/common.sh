# Shared by the shell benchmarks (http.sh, scale_out.sh): sourced, not run.

# require_tools NAME HINT TOOL...: stops with HINT unless every TOOL is on the PATH.
require_tools() {
  local name="$1" hint="$2" tool
  shift 2
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null; then
      echo "$name: $tool is missing ($hint)" >&2
      exit 1
    fi
  done
}

# require_free_ports NAME SETTINGS PORT...: stops, naming SETTINGS, if a PORT is taken.
require_free_ports() {
  local name="$1" settings="$2" port
  shift 2
  for port in "$@"; do
    if ss -Htln "sport = :$port" | grep -q .; then
      echo "$name: port $port is in use; set $settings" >&2
      exit 1
    fi
  done
}

# broadside_binary: sets BIN to $BROADSIDE_BIN (another build, e.g. an older commit's),
# or builds the release binary and uses that. Run from the repository's root.
broadside_binary() {
  if [ -n "${BROADSIDE_BIN:-}" ]; then
    BIN="$BROADSIDE_BIN"
  else
    cargo build --release --quiet --bin broadside
    BIN="$PWD/target/release/broadside"
  fi
}
