#!/usr/bin/env bash
# Quick benchmarks and the footprint: fails when a benchmark or the footprint probe breaks (does not
# build, errors, links a heap), never because a performance target is missed (the report says which).
# Leaves README.md as it was: CI reports the figures, a developer commits them (benches/run.sh).
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

cp README.md target/README.before-bench 2>/dev/null || { mkdir -p target && cp README.md target/README.before-bench; }
cp benches/results.svg target/results.before-bench.svg 2>/dev/null || true
restore() {
    cp target/README.before-bench README.md
    if [[ -f target/results.before-bench.svg ]]; then cp target/results.before-bench.svg benches/results.svg; fi
}
trap restore EXIT

cargo test -p mlx5-cmdif-bench --quiet
time benches/run.sh --quick
