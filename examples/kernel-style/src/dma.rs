//! Coherent DMA memory and the firmware's page pool.

use core::ptr::NonNull;

use mlx5_cmdif::host::{DmaMemory, PageProvider, FW_PAGE_SIZE};

use crate::Kernel;

/// A bus address as the device sees it (`dma_addr_t`).
pub type DmaAddr = u64;

/// What `dma_alloc_coherent` returns: CPU-visible memory plus its `dma_addr_t`; dropping it calls
/// `dma_free_coherent` (as the kernel crate's `dma::CoherentAllocation` does).
///
/// Implements [`DmaMemory`] with volatile byte copies (the device reads and writes the memory while the CPU
/// does); ranges outside the allocation read as zeros and are dropped on write.
///
/// Drop it only once the device no longer uses it: after `hca::teardown`, or after the function was
/// disabled or reset.
#[derive(Debug)]
pub struct CoherentAllocation<'k, K: Kernel> {
    kernel: &'k K,
    cpu_addr: NonNull<u8>,
    dma_handle: DmaAddr,
    size: usize,
}

// SAFETY: the allocation is plain memory shared with a device; every access is a volatile byte copy, and
// the kernel's `CoherentAllocation` is `Send + Sync` for the same reason.
unsafe impl<K: Kernel + Sync> Send for CoherentAllocation<'_, K> {}
// SAFETY: see `Send`.
unsafe impl<K: Kernel + Sync> Sync for CoherentAllocation<'_, K> {}

impl<'k, K: Kernel> CoherentAllocation<'k, K> {
    /// `dma_alloc_coherent(dev, size, &dma_handle, GFP_KERNEL)`: zeroed, page-aligned memory, or `None`.
    pub fn alloc(kernel: &'k K, size: usize) -> Option<Self> {
        let (cpu_addr, dma_handle) = kernel.dma_alloc_coherent(size)?;
        Some(CoherentAllocation { kernel, cpu_addr, dma_handle, size })
    }

    /// The CPU address (`cpu_addr`).
    pub const fn cpu_addr(&self) -> NonNull<u8> {
        self.cpu_addr
    }

    /// The device address (`dma_handle`).
    pub const fn dma_handle(&self) -> DmaAddr {
        self.dma_handle
    }

    /// The size in bytes.
    pub const fn size(&self) -> usize {
        self.size
    }
}

impl<K: Kernel> Drop for CoherentAllocation<'_, K> {
    fn drop(&mut self) {
        // SAFETY: the three values are what `dma_alloc_coherent` returned for this allocation, which is
        // given back exactly once (here) and not used afterwards.
        unsafe { self.kernel.dma_free_coherent(self.size, self.cpu_addr, self.dma_handle) }
    }
}

impl<K: Kernel> DmaMemory for CoherentAllocation<'_, K> {
    fn bus_addr(&self) -> u64 {
        self.dma_handle
    }

    fn len(&self) -> usize {
        self.size
    }

    fn read(&self, offset: usize, out: &mut [u8]) {
        let n = out.len().min(self.size.saturating_sub(offset));
        let (inside, outside) = out.split_at_mut(n);
        outside.fill(0);
        for (i, b) in inside.iter_mut().enumerate() {
            // SAFETY: `offset + i < self.size` (n is clamped above): inside the allocation, which
            // `Kernel::dma_alloc_coherent` promises is valid until it is freed in `drop`.
            *b = unsafe { self.cpu_addr.as_ptr().add(offset + i).read_volatile() };
        }
    }

    fn write(&self, offset: usize, data: &[u8]) {
        let n = data.len().min(self.size.saturating_sub(offset));
        for (i, b) in data.iter().take(n).enumerate() {
            // SAFETY: `offset + i < self.size`, inside the allocation (see `read`).
            unsafe { self.cpu_addr.as_ptr().add(offset + i).write_volatile(*b) };
        }
    }
}

/// The pages lent to firmware (MANAGE_PAGES): one coherent 4 KiB allocation per page, at most `N` at a
/// time, tracked in a fixed table (no allocator; a real driver keeps them in an `XArray` keyed by
/// `dma_addr_t`, as `mlx5_core`'s `pagealloc.c` keeps a tree). Pages still out when the pool is dropped are
/// freed then, so drop it only after teardown or a function reset.
#[derive(Debug)]
pub struct DmaPagePool<'k, K: Kernel, const N: usize> {
    kernel: &'k K,
    pages: [Option<CoherentAllocation<'k, K>>; N],
    out: usize,
}

impl<'k, K: Kernel, const N: usize> DmaPagePool<'k, K, N> {
    /// An empty pool allocating from `kernel`.
    pub fn new(kernel: &'k K) -> Self {
        DmaPagePool { kernel, pages: [const { None }; N], out: 0 }
    }
}

impl<K: Kernel, const N: usize> PageProvider for DmaPagePool<'_, K, N> {
    fn alloc_page(&mut self) -> Option<u64> {
        let slot = self.pages.iter_mut().find(|s| s.is_none())?;
        let page = CoherentAllocation::alloc(self.kernel, FW_PAGE_SIZE)?;
        if !page.dma_handle().is_multiple_of(FW_PAGE_SIZE as u64) {
            return None; // `page` is freed on drop
        }
        let addr = page.dma_handle();
        *slot = Some(page);
        self.out += 1;
        Some(addr)
    }

    fn free_page(&mut self, bus_addr: u64) -> bool {
        let slot = self.pages.iter_mut().find(|s| s.as_ref().is_some_and(|p| p.dma_handle() == bus_addr));
        match slot.and_then(Option::take) {
            Some(page) => {
                drop(page);
                self.out = self.out.saturating_sub(1);
                true
            }
            None => false,
        }
    }

    fn pages_out(&self) -> usize {
        self.out
    }
}
