#!/usr/bin/env bash
# What a UEFI or firmware image pays for the engine: builds benches/footprint (a #![no_std] #![no_main]
# probe that links Cmdq::new, hca::bring_up/teardown and a few typed commands over a fake volatile host)
# for thumbv7em-none-eabihf in two profiles, reports its sections with llvm-size, checks that nothing
# in it uses a heap, and writes target/criterion/footprint.json for benches/report.py.
#
#   benches/footprint.sh
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TARGET=thumbv7em-none-eabihf
MANIFEST=benches/footprint/Cargo.toml
OUT=target/criterion/footprint.json

rustup target add "$TARGET" >/dev/null 2>&1 || true
rustup component add llvm-tools >/dev/null 2>&1 || true
tool() {
    local t
    t=$(ls ~/.rustup/toolchains/*/lib/rustlib/*/bin/"$1" 2>/dev/null | head -1 || true)
    if [[ -z "$t" ]]; then t=$(command -v "$1" || true); fi
    if [[ -z "$t" ]]; then echo "footprint: $1 not found (rustup component add llvm-tools)" >&2; exit 1; fi
    echo "$t"
}
SIZE=$(tool llvm-size)
NM=$(tool llvm-nm)

mkdir -p "$(dirname "$OUT")"
json="{"
sep=""
for profile in release release-size; do
    cargo build --quiet --manifest-path "$MANIFEST" --target "$TARGET" --profile "$profile"
    elf="benches/footprint/target/$TARGET/$profile/mlx5-cmdif-footprint"
    echo "== footprint ($profile): $elf"
    "$SIZE" -A "$elf" | grep -E '^(section|\.text|\.rodata|\.data|\.bss|\.probe_sizes)'
    # No heap: no allocator entry points, nothing from the alloc crate.
    if "$NM" -C "$elf" | grep -E '__rust_alloc|__rust_dealloc|__rust_realloc|__rg_alloc|__rdl_alloc|\balloc::|malloc|free\b' \
        | grep -v 'alloc_page\|free_page\|MailboxPool' ; then
        echo "footprint: the image links a heap allocator (symbols above)" >&2
        exit 1
    fi
    echo "no heap: no allocator symbols"
    sec() { "$SIZE" -A "$elf" | awk -v s="$1" '$1 == s { print $2; f = 1 } END { if (!f) print 0 }'; }
    cmdq=$("$NM" -S -t d "$elf" | awk '$4 == "CMDQ_SIZE_PROBE" { print $2 + 0 }')
    json+="$sep\"$profile\": {\"text\": $(sec .text), \"rodata\": $(sec .rodata), \"data\": $(sec .data), \"bss\": $(sec .bss), \"cmdq_bytes\": ${cmdq:-0}}"
    sep=", "
done
json+=", \"target\": \"$TARGET\"}"
echo "$json" >"$OUT"
echo "== wrote $OUT"
