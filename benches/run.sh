#!/usr/bin/env bash
# Runs the criterion benchmarks (each beside its baseline, in one process), measures the footprint, and
# regenerates the README's benchmark table and benches/results.svg from target/criterion.
#
#   benches/run.sh            # full measurement (criterion defaults: 3 s warm-up, 5 s per benchmark)
#   benches/run.sh --quick    # short warm-up and measurement: well under 3 minutes on 2 cores
#
# Exits non-zero when a benchmark or the footprint build fails, never because a target is missed
# (the table says which are).
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ARGS=()
QUICK=()
if [[ "${1:-}" == "--quick" ]]; then
    ARGS=(--warm-up-time 0.5 --measurement-time 1.5 --sample-size 30)
    QUICK=(--quick)
fi

cargo bench -p mlx5-cmdif-bench --bench cmdif -- --noplot "${ARGS[@]}"
benches/footprint.sh
python3 benches/report.py "${QUICK[@]}"
