//! `IoMem`: a mapped BAR, accessed like `readl`/`writel`.

use core::ptr::NonNull;

use mlx5_cmdif::host::Mmio;

/// A mapped MMIO region (what `pci_iomap(pdev, 0, 0)` returns, with its length), accessed with 32-bit
/// volatile loads and stores like `readl`/`writel`.
///
/// `readl` returns the little-endian reading of the 4 bytes (`le32_to_cpu`), which is what the library's
/// [`Mmio`] trait expects; the engine converts the big-endian registers itself, as `ioread32be` would.
/// Accesses outside the region or not 4-byte aligned read as `0xffff_ffff` and are dropped on write, so
/// nothing the engine does can reach beyond the mapping.
#[derive(Debug)]
pub struct IoMem {
    base: NonNull<u32>,
    size: usize,
}

// SAFETY: an `IoMem` is a handle to device registers; MMIO accesses from any CPU are fine (the kernel's
// `IoMem` is `Send + Sync` too). It holds no CPU-side data.
unsafe impl Send for IoMem {}
// SAFETY: see `Send`; every access is a single volatile load or store.
unsafe impl Sync for IoMem {}

impl IoMem {
    /// Wraps a mapping of `size` bytes at `base`.
    ///
    /// # Safety
    /// `base` must be 4-byte aligned and the start of `size` bytes of mapped device memory (or, in tests,
    /// ordinary memory) valid for volatile 32-bit reads and writes for as long as the `IoMem` lives.
    pub const unsafe fn new(base: NonNull<u32>, size: usize) -> Self {
        IoMem { base, size }
    }

    /// Length of the mapping in bytes.
    pub const fn size(&self) -> usize {
        self.size
    }

    /// Whether a 32-bit access at `offset` stays inside the mapping and is aligned.
    fn valid(&self, offset: usize) -> bool {
        offset.is_multiple_of(4) && offset.checked_add(4).is_some_and(|end| end <= self.size)
    }

    /// `readl(base + offset)`: `0xffff_ffff` outside the mapping.
    pub fn readl(&self, offset: usize) -> u32 {
        if !self.valid(offset) {
            return u32::MAX;
        }
        // SAFETY: `offset` is aligned and inside the mapping (checked above), which `new`'s caller promised
        // is valid for volatile 32-bit reads.
        u32::from_le(unsafe { self.base.as_ptr().add(offset / 4).read_volatile() })
    }

    /// `writel(value, base + offset)`: dropped outside the mapping.
    pub fn writel(&self, value: u32, offset: usize) {
        if !self.valid(offset) {
            return;
        }
        // SAFETY: as in `readl`, for a write.
        unsafe { self.base.as_ptr().add(offset / 4).write_volatile(value.to_le()) }
    }
}

impl Mmio for IoMem {
    fn read32(&self, offset: usize) -> u32 {
        self.readl(offset)
    }

    fn write32(&self, offset: usize, value: u32) {
        // `writel` orders the store after earlier writes to coherent memory (the queue entry) on every
        // architecture Linux supports; the engine adds its own release fence before the doorbell too.
        self.writel(value, offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readl_writel_are_little_endian_and_bounded() {
        let mut regs = [0u32; 4];
        // SAFETY: `regs` is 16 aligned bytes that outlive `io`.
        let io = unsafe { IoMem::new(NonNull::from(&mut regs).cast(), 16) };
        io.writel(0x1234_5678, 4);
        assert_eq!(io.readl(4), 0x1234_5678);
        io.writel(7, 16); // past the end: dropped
        io.writel(7, 2); // unaligned: dropped
        assert_eq!(io.readl(16), u32::MAX);
        assert_eq!(io.readl(usize::MAX - 1), u32::MAX);
        assert_eq!(regs[1].to_le_bytes(), [0x78, 0x56, 0x34, 0x12]);
        assert_eq!(regs[0], 0);
    }
}
