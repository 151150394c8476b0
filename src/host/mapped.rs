//! A ready [`Mmio`] for a memory-mapped BAR0 (userspace `mmap` of a VFIO/UIO region, UEFI with an
//! identity-mapped BAR, bare metal), and a ready [`DmaMemory`] for identity-mapped or pinned memory.
//!
//! The initialization segment is also described as a register block of `volatile-register` cells,
//! [`InitSegRegs`], whose offsets are derived from the generated [`InitialSeg`] description and checked at
//! compile time. Following the rule that device memory is reached through raw pointers (a `&` to device
//! memory lets the compiler insert reads), the block is only ever used through a raw pointer inside
//! [`MappedBar`]'s [`Mmio`] implementation, never handed out as a reference.

use core::ptr;

use volatile_register::{RO, RW};

use crate::layout::FieldDesc;
use crate::prm::InitialSeg;

use super::{DmaMemory, Mmio};

const fn dword(f: &FieldDesc) -> usize {
    f.offset / 32
}

const FW_REV: usize = dword(&InitialSeg::FIELD_FW_REV_MINOR);
const CMDIF_REV: usize = dword(&InitialSeg::FIELD_CMD_INTERFACE_REV);
const ADDR_H: usize = dword(&InitialSeg::FIELD_CMDQ_PHY_ADDR_63_32);
const ADDR_L: usize = dword(&InitialSeg::FIELD_CMDQ_PHY_ADDR_31_12);
const DOORBELL: usize = dword(&InitialSeg::FIELD_COMMAND_DOORBELL_VECTOR);
const INITIALIZING: usize = dword(&InitialSeg::FIELD_INITIALIZING);
const HEALTH: usize = dword(&InitialSeg::FIELD_HEALTH_BUFFER);
const HEALTH_DWORDS: usize = crate::prm::HealthBuffer::SIZE / 4;

/// The initialization segment's registers as a `volatile-register` block (big-endian values; see
/// [`Mmio`] for the byte order of reads). Padding lengths come from the generated layout.
#[repr(C)]
pub struct InitSegRegs {
    /// Firmware minor and major revision.
    pub fw_rev: RO<u32>,
    /// Command-interface revision and firmware sub-minor revision.
    pub cmdif_rev_fw_sub: RO<u32>,
    _reserved0: [u32; ADDR_H - CMDIF_REV - 1],
    /// Command queue address, high half.
    pub cmdq_addr_h: RW<u32>,
    /// Command queue address, low half, with `nic_interface`, `log_cmdq_size` and `log_cmdq_stride`.
    pub cmdq_addr_l_sz: RW<u32>,
    /// Doorbell vector.
    pub cmd_dbell: RW<u32>,
    _reserved1: [u32; INITIALIZING - DOORBELL - 1],
    /// `initializing` and related bits.
    pub initializing: RO<u32>,
    /// The health buffer.
    pub health: [RO<u32>; HEALTH_DWORDS],
}

// The block agrees with the generated layout.
const _: () = {
    assert!(FW_REV == 0);
    assert!(core::mem::offset_of!(InitSegRegs, cmdif_rev_fw_sub) == CMDIF_REV * 4);
    assert!(core::mem::offset_of!(InitSegRegs, cmdq_addr_h) == ADDR_H * 4);
    assert!(core::mem::offset_of!(InitSegRegs, cmdq_addr_l_sz) == ADDR_L * 4);
    assert!(core::mem::offset_of!(InitSegRegs, cmd_dbell) == DOORBELL * 4);
    assert!(core::mem::offset_of!(InitSegRegs, initializing) == INITIALIZING * 4);
    assert!(core::mem::offset_of!(InitSegRegs, health) == HEALTH * 4);
};

/// BAR0 mapped into this address space.
#[derive(Debug)]
pub struct MappedBar {
    base: *mut u8,
    len: usize,
}

// SAFETY: the mapping is device memory accessed only with volatile reads and writes of whole dwords;
// sharing the pointer between threads is what a driver does with a BAR.
unsafe impl Send for MappedBar {}
// SAFETY: as above; `Mmio` takes `&self` and every access is a single volatile operation.
unsafe impl Sync for MappedBar {}

impl MappedBar {
    /// Wraps a mapping of BAR0.
    ///
    /// # Safety
    /// `base` must point to a mapping of the device's BAR0 (uncached device memory) of at least `len`
    /// bytes, 4-byte aligned, valid for volatile reads and writes for as long as the `MappedBar` lives.
    pub unsafe fn new(base: *mut u8, len: usize) -> Self {
        MappedBar { base, len }
    }

    fn regs(&self) -> *mut InitSegRegs {
        self.base.cast()
    }

    fn in_range(&self, offset: usize) -> bool {
        offset.is_multiple_of(4) && offset.checked_add(4).is_some_and(|end| end <= self.len)
    }
}

impl Mmio for MappedBar {
    fn read32(&self, offset: usize) -> u32 {
        if !self.in_range(offset) {
            return u32::MAX;
        }
        let regs = self.regs();
        // SAFETY: `offset` is a 4-aligned dword inside the mapping (checked above), which `new`'s
        // contract makes valid for volatile access; the register block is reached through a raw pointer
        // and no reference to device memory outlives this statement.
        unsafe {
            if offset == DOORBELL * 4 {
                (*regs).cmd_dbell.read()
            } else if offset == INITIALIZING * 4 {
                (*regs).initializing.read()
            } else {
                ptr::read_volatile(self.base.add(offset).cast::<u32>())
            }
        }
    }

    fn write32(&self, offset: usize, value: u32) {
        if !self.in_range(offset) {
            return;
        }
        let regs = self.regs();
        // Earlier writes to DMA memory (the queue entry, its mailboxes) before this one, as `writel`
        // orders them: the strongest fence the language offers (`mfence` on x86, `dmb ish` on Arm).
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
        // SAFETY: as in `read32`; the writable registers of the block are written through its cells.
        unsafe {
            match offset / 4 {
                ADDR_H => (*regs).cmdq_addr_h.write(value),
                ADDR_L => (*regs).cmdq_addr_l_sz.write(value),
                DOORBELL => (*regs).cmd_dbell.write(value),
                _ => ptr::write_volatile(self.base.add(offset).cast::<u32>(), value),
            }
        }
    }
}

/// DMA memory the CPU reaches at `cpu` and the device at `bus` (pinned, identity-mapped or IOMMU-mapped
/// memory from the host's allocator).
#[derive(Debug)]
pub struct RawDma {
    cpu: *mut u8,
    bus: u64,
    len: usize,
}

// SAFETY: the buffer is plain memory shared with the device; every access is a volatile copy.
unsafe impl Send for RawDma {}
// SAFETY: as above.
unsafe impl Sync for RawDma {}

impl RawDma {
    /// Wraps a DMA buffer.
    ///
    /// # Safety
    /// `cpu` must be valid for reads and writes of `len` bytes for as long as the `RawDma` lives, and
    /// the device must see the same bytes at bus address `bus`.
    pub unsafe fn new(cpu: *mut u8, bus: u64, len: usize) -> Self {
        RawDma { cpu, bus, len }
    }
}

impl DmaMemory for RawDma {
    fn bus_addr(&self) -> u64 {
        self.bus
    }

    fn len(&self) -> usize {
        self.len
    }

    fn read(&self, offset: usize, out: &mut [u8]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = match offset.checked_add(i).filter(|&p| p < self.len) {
                // SAFETY: `p < len`, inside the buffer `new`'s contract makes valid; volatile because the
                // device writes it concurrently.
                Some(p) => unsafe { ptr::read_volatile(self.cpu.add(p)) },
                None => 0,
            };
        }
    }

    fn write(&self, offset: usize, data: &[u8]) {
        for (i, d) in data.iter().enumerate() {
            if let Some(p) = offset.checked_add(i).filter(|&p| p < self.len) {
                // SAFETY: `p < len`, inside the buffer; volatile so the write reaches memory in order.
                unsafe { ptr::write_volatile(self.cpu.add(p), *d) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_bar_reads_and_writes_dwords() {
        let mut bar = [0u32; 0x100];
        bar[1] = 0x0500_0000u32.swap_bytes();
        // SAFETY: `bar` outlives `m` and is 4-byte aligned memory of the given length.
        {
            let m = unsafe { MappedBar::new(bar.as_mut_ptr().cast(), bar.len() * 4) };
            assert_eq!(m.read32(4), 0x0500_0000u32.swap_bytes());
            m.write32(DOORBELL * 4, 7);
            assert_eq!(m.read32(DOORBELL * 4), 7);
            assert_eq!(m.read32(0x400), u32::MAX);
            assert_eq!(m.read32(3), u32::MAX);
        }
        assert_eq!(bar[DOORBELL], 7);
    }

    #[test]
    fn raw_dma_is_bounded() {
        let mut buf = [0u8; 16];
        // SAFETY: `buf` outlives `d`.
        let d = unsafe { RawDma::new(buf.as_mut_ptr(), 0x1000, buf.len()) };
        d.write(14, &[1, 2, 3, 4]);
        let mut out = [9u8; 4];
        d.read(14, &mut out);
        assert_eq!(out, [1, 2, 0, 0]);
    }
}
