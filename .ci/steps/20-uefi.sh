#!/usr/bin/env bash
# UEFI pre-boot provisioning in QEMU + OVMF (software emulation, no KVM).
#
#   bash .ci/steps/20-uefi.sh
#
# Builds uefi/ (the `mlx5-provision` application) for x86_64-unknown-uefi with the `qemu-exit` feature, boots
# it from a FAT folder as EFI/BOOT/BOOTX64.EFI, captures the serial console, and checks that the device model
# was brought up (and that the PCI I/O protocol declaration of the hardware host reads configuration space), queried (adapter PSID, capabilities), that port 1's PAOS admin state change was read back,
# that the device was torn down, and that the application left QEMU through isa-debug-exit with PASS (33).
# Installs the target and qemu-system-x86 + ovmf when they are missing. See docs/UEFI.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
TIMEOUT_S="${UEFI_QEMU_TIMEOUT:-240}"
OUT="$ROOT/target/uefi-ci"

fail() {
    echo "!!! 20-uefi: $*" >&2
    exit 1
}

echo "== 20-uefi: toolchain target"
rustup target add x86_64-unknown-uefi

echo "== 20-uefi: QEMU and OVMF"
if ! command -v qemu-system-x86_64 >/dev/null || ! ls /usr/share/OVMF/OVMF_CODE*.fd >/dev/null 2>&1; then
    SUDO=()
    [[ "$(id -u)" == 0 ]] || SUDO=(sudo)
    "${SUDO[@]}" apt-get update
    "${SUDO[@]}" apt-get install -y qemu-system-x86 ovmf
fi
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is not installed"

# OVMF as Debian installs it: split code + vars (4 MiB layout first), else a combined image for -bios.
OVMF_ARGS=()
for pair in "OVMF_CODE_4M.fd OVMF_VARS_4M.fd" "OVMF_CODE.fd OVMF_VARS.fd"; do
    read -r code vars <<<"$pair"
    if [[ -f "/usr/share/OVMF/$code" && -f "/usr/share/OVMF/$vars" ]]; then
        mkdir -p "$OUT"
        cp "/usr/share/OVMF/$vars" "$OUT/vars.fd"
        OVMF_ARGS=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/$code"
            -drive "if=pflash,format=raw,unit=1,file=$OUT/vars.fd")
        break
    fi
done
if [[ ${#OVMF_ARGS[@]} == 0 ]]; then
    for bios in /usr/share/ovmf/OVMF.fd /usr/share/qemu/OVMF.fd; do
        if [[ -f "$bios" ]]; then
            OVMF_ARGS=(-bios "$bios")
            break
        fi
    done
fi
[[ ${#OVMF_ARGS[@]} != 0 ]] || fail "no OVMF firmware found under /usr/share/OVMF, /usr/share/ovmf or /usr/share/qemu"

echo "== 20-uefi: rustfmt and clippy"
cargo fmt --manifest-path uefi/Cargo.toml --check
cargo clippy --release --locked --target x86_64-unknown-uefi --manifest-path uefi/Cargo.toml --features qemu-exit -- -D warnings

echo "== 20-uefi: build (release, x86_64-unknown-uefi)"
cargo build --release --locked --target x86_64-unknown-uefi --manifest-path uefi/Cargo.toml --features qemu-exit
EFI="$ROOT/uefi/target/x86_64-unknown-uefi/release/mlx5-provision.efi"
[[ -f "$EFI" ]] || fail "the build did not produce $EFI"

echo "== 20-uefi: ESP"
ESP="$OUT/esp"
rm -rf "$ESP"
mkdir -p "$ESP/EFI/BOOT"
cp "$EFI" "$ESP/EFI/BOOT/BOOTX64.EFI"

echo "== 20-uefi: QEMU (TCG, timeout ${TIMEOUT_S}s)"
LOG="$OUT/serial.log"
rm -f "$LOG"
set +e
timeout --kill-after=10 "$TIMEOUT_S" qemu-system-x86_64 \
    -machine q35,accel=tcg -m 256M -smp 1 \
    "${OVMF_ARGS[@]}" \
    -drive "format=raw,file=fat:rw:$ESP" \
    -net none \
    -display none -monitor none \
    -serial "file:$LOG" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -no-reboot
STATUS=$?
set -e
# Console output with the terminal's escape sequences and carriage returns removed.
CLEAN="$OUT/console.txt"
sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\r//g' "$LOG" >"$CLEAN" 2>/dev/null || true
echo "---------------------------------------- serial console ----------------------------------------"
grep -a -E 'mlx5|ConnectX|^PCI|command queue|HCA|adapter|caps|port|device model' "$CLEAN" || true
echo "------------------------------------------------------------------------------------------------"

case "$STATUS" in
    33) ;;
    35) fail "the application reported FAIL (isa-debug-exit 35); full log: $LOG" ;;
    124 | 137) fail "QEMU did not finish within ${TIMEOUT_S}s; full log: $LOG" ;;
    *) fail "QEMU exited with status $STATUS (expected 33 from isa-debug-exit); full log: $LOG" ;;
esac

EXPECT=(
    # Our PCI I/O protocol declaration at work: q35's host bridge, read through Pci.Read and GetLocation.
    '^PCI 0000:00:00\.0: 8086:29c0'
    # ... and its DMA side: AllocateBuffer + Map(BusMasterCommonBuffer), the page provider, Unmap + FreeBuffer.
    '^PCI DMA self-test: page mapped at bus 0x[0-9a-f]+000, pattern read back, pages freed'
    'command queue: 31 slots|command queue: 32 slots'
    'HCA up: ISSI 1, 16 boot \+ 48 init pages'
    'adapter: vendor id 0x02c9, PSID MT_0000000359'
    'caps: ports 2, log_max_qp [0-9]+ \(max [0-9]+\)'
    'caps: log_max_cq [0-9]+ \(max [0-9]+\), max_tc [0-9]+'
    'port 1 admin state: (PortStatus\()?(up|UP|0x1)\)? -> (PortStatus\()?(down|DOWN|0x2)\)? \(wrote'
    'port 1 admin state restored: (PortStatus\()?(up|UP|0x1)'
    'HCA torn down: 64 pages returned, 0 still out'
    'device model: firmware holds 0 pages'
    '^mlx5-provision: PASS'
)
for re in "${EXPECT[@]}"; do
    grep -a -q -E "$re" "$CLEAN" || fail "expected a line matching /$re/ on the serial console; full log: $LOG"
done
echo "== 20-uefi: passed (${#EXPECT[@]} expected lines found, isa-debug-exit status 33)"
