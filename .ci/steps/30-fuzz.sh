#!/usr/bin/env bash
# Fuzzing: every cargo-fuzz target of fuzz/ for a bounded time from its committed seed corpus; a crash
# (panic, overflow, failed invariant) fails CI. Longer runs and their figures: docs/TESTING.md.
#
#   FUZZ_SECONDS=30 bash .ci/steps/30-fuzz.sh
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../fuzz"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-30}"

rustup toolchain install nightly --profile minimal
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

for target in $(cargo +nightly fuzz list); do
    echo "== fuzz $target for ${SECONDS_PER_TARGET}s"
    # Work on a copy so the committed seed corpus stays small; crashes land in fuzz/artifacts/<target>/.
    work="$(mktemp -d)"
    cp -r "corpus/$target/." "$work/" 2>/dev/null || true
    cargo +nightly fuzz run "$target" "$work" -- -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1
    rm -rf "$work"
done
