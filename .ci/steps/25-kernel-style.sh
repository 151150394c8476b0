#!/usr/bin/env bash
# The kernel profile, shaped like a Linux driver: examples/kernel-style/ (`#![no_std]`, no allocator, only
# core + zerocopy + the library without default features) must build for x86_64-unknown-none, be clippy and
# rustfmt clean, and its host unit tests (IoMem/DMA/clock/errno glue; probe, query and remove against the
# device model) must pass.
#
#   bash .ci/steps/25-kernel-style.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
MANIFEST=examples/kernel-style/Cargo.toml

echo "== 25-kernel-style: target"
rustup target add x86_64-unknown-none

echo "== 25-kernel-style: rustfmt"
cargo fmt --manifest-path "$MANIFEST" --check

echo "== 25-kernel-style: build for x86_64-unknown-none (no std, no alloc)"
cargo build --locked --manifest-path "$MANIFEST" --target x86_64-unknown-none
cargo build --locked --manifest-path "$MANIFEST" --target x86_64-unknown-none --release

# No allocator anywhere: the library in the kernel profile and this crate must not link `alloc`.
if cargo tree --locked --manifest-path "$MANIFEST" --target x86_64-unknown-none -e normal --prefix none |
    grep -v -E '^(mlx5-kernel-style|mlx5-cmdif|zerocopy|zerocopy-derive|proc-macro2|quote|syn|unicode-ident) ' |
    grep -q .; then
    cargo tree --manifest-path "$MANIFEST" --target x86_64-unknown-none -e normal
    echo "!!! 25-kernel-style: the kernel profile pulls in more than core + zerocopy" >&2
    exit 1
fi

echo "== 25-kernel-style: clippy"
cargo clippy --locked --manifest-path "$MANIFEST" --target x86_64-unknown-none -- -D warnings
cargo clippy --locked --manifest-path "$MANIFEST" --all-targets -- -D warnings

echo "== 25-kernel-style: host unit tests"
cargo test --locked --manifest-path "$MANIFEST"
echo "== 25-kernel-style: passed"
