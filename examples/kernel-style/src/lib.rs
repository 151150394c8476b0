//! A ConnectX (mlx5) command-interface driver in the shape of Linux kernel Rust code, over `mlx5-cmdif`.
//!
//! `#![no_std]`, no allocator: only `core`, `zerocopy` and the library's kernel profile
//! (`default-features = false`). What the kernel would provide is behind the [`Kernel`] trait (in a real
//! driver: the `kernel` crate's `IoMem`, `dma::CoherentAllocation`, `delay` and `jiffies`):
//!
//! - [`IoMem`]: BAR0 mapped by `pci_iomap`, read and written `readl`/`writel`-style (volatile 32-bit
//!   accesses, little-endian — the value the library's `Mmio` trait expects; the engine does the
//!   `ioread32be` swap of the big-endian registers itself).
//! - [`CoherentAllocation`]: what `dma_alloc_coherent` returns — a CPU address and a `dma_addr_t`.
//! - [`JiffiesClock`]: time from `jiffies` / `HZ`, waits with `udelay`.
//! - [`DmaPagePool`]: the firmware's pages, one coherent 4 KiB allocation each.
//! - [`Errno`]: errors as negative errno values, mapped from the engine's `Error::errno()` the way
//!   `mlx5_core` maps them.
//! - [`Mlx5Dev::probe`] / [`Mlx5Dev::remove`]: `Cmdq::new` + `hca::bring_up`, a query, `hca::teardown`.
//!   [`mlx5_probe`] / [`mlx5_remove`] show the C-facing shape (`0` or `-errno`).
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

use core::ptr::NonNull;

mod delay;
mod dma;
mod driver;
mod errno;
mod io_mem;

pub use delay::{JiffiesClock, MAX_UDELAY_US};
pub use dma::{CoherentAllocation, DmaAddr, DmaPagePool};
pub use driver::{mlx5_probe, mlx5_remove, AdapterInfo, Mlx5Dev, Mlx5KernelDev};
pub use errno::Errno;
pub use io_mem::IoMem;

/// What the kernel provides to the driver (in Linux: `jiffies`, `HZ`, `udelay()`, `dma_alloc_coherent()`
/// and `dma_free_coherent()` on the PCI device).
pub trait Kernel {
    /// Timer ticks per second (`CONFIG_HZ`).
    const HZ: u64;
    /// The tick counter (`jiffies_64`).
    fn jiffies(&self) -> u64;
    /// Busy-waits `us` microseconds (`udelay`; callers keep single waits short).
    fn udelay(&self, us: u32);
    /// `dma_alloc_coherent(dev, size, &dma_handle, GFP_KERNEL)`: the CPU address and `dma_addr_t` of `size`
    /// zeroed, page-aligned bytes the device can reach, valid for reads and writes until they are freed;
    /// `None` on failure. Use [`CoherentAllocation::alloc`], which frees on drop.
    fn dma_alloc_coherent(&self, size: usize) -> Option<(NonNull<u8>, DmaAddr)>;
    /// `dma_free_coherent(dev, size, cpu_addr, dma_handle)`.
    ///
    /// # Safety
    /// The arguments must be what one earlier `dma_alloc_coherent(size)` returned, freed only once, and the
    /// memory must not be used afterwards (by the CPU or the device).
    unsafe fn dma_free_coherent(&self, size: usize, cpu_addr: NonNull<u8>, dma_handle: DmaAddr);
}
