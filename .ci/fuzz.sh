#!/usr/bin/env bash
# Bounded fuzzing of the parsers of untrusted input (fuzz/, issue #8 item 2): builds the
# cargo-fuzz targets and runs each for FUZZ_SECONDS (default 60), starting from the committed
# seed corpus. Prints how many inputs each run tried; fails on a crash (the input that
# crashed is left in fuzz/artifacts/<target>/ and printed by libFuzzer).
#
# The targets are built without a sanitizer by default (FUZZ_SANITIZER=address for one):
# the code under test is safe Rust, where what fuzzing finds is panics and broken
# invariants, which libFuzzer catches without one, and instrumenting every dependency with
# AddressSanitizer made the CI build of the targets several times longer.
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 allows them on the stable toolchain, for
# this build only. The fuzz workspace has its own target folder
# (fuzz/target), so the main build is not disturbed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

CARGO_FUZZ_VERSION=0.13.1
SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
SANITIZER="${FUZZ_SANITIZER:-none}"
TARGETS=(activity_json signature_header webfinger markdown)

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

export RUSTC_BOOTSTRAP=1
cd "$ROOT/fuzz"
cargo fuzz build --sanitizer "$SANITIZER"

WORK="$ROOT/fuzz/target/corpus-work"
SUMMARY=()
for target in "${TARGETS[@]}"; do
  # New inputs go to a scratch folder; the committed seeds are only read.
  mkdir -p "$WORK/$target"
  log="$WORK/$target.log"
  echo "fuzzing $target for ${SECONDS_PER_TARGET}s"
  if ! cargo fuzz run --sanitizer "$SANITIZER" "$target" "$WORK/$target" "corpus/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $target failed" >&2
    exit 1
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  SUMMARY+=("$target: ${runs:-?} inputs in ${SECONDS_PER_TARGET}s")
done
printf '%s\n' "${SUMMARY[@]}"
