//! What a host lends the engine: BAR0 access, DMA memory, time and pages.
//!
//! The traits are ours and minimal, so that a kernel driver, a UEFI application, a userspace program with
//! a mapped BAR, and the device model can all implement them in a few lines. The engine owns no memory
//! and no time source; it only uses what these traits give it.

/// 32-bit access to the device's BAR0, at byte offsets from its start.
///
/// Values are what the bus returns for the 4 bytes at `offset` read as a **little-endian** `u32` — what
/// Linux's `readl`/`writel` and UEFI's `PciIo.Mem.Read` with `EfiPciIoWidthUint32` give on any CPU. The
/// device's registers are big-endian; the engine converts (as `ioread32be` does), so implementations never
/// swap bytes themselves.
///
/// Implementations must not panic; an access outside BAR0 should read as all ones (what a PCI read of a
/// missing device returns) and drop writes.
///
/// Ordering: a write must reach the device after every earlier CPU write to DMA memory (the doorbell
/// publishes the queue entry and its mailboxes), as Linux's `writel`/`iowrite32be` guarantee with the
/// barrier they include. The engine fences between threads only; on a weakly ordered CPU the
/// implementation adds what the platform needs (the UEFI `PciIo` and kernel accessors already do).
pub trait Mmio {
    /// Reads the 32-bit register at byte `offset`.
    fn read32(&self, offset: usize) -> u32;
    /// Writes the 32-bit register at byte `offset`.
    fn write32(&self, offset: usize, value: u32);
}

/// A DMA buffer: CPU-visible bytes plus the bus address at which the device sees them.
///
/// The device reads and writes this memory concurrently with the CPU, so implementations copy with
/// volatile or atomic accesses, never through `&mut [u8]` held across a doorbell. Ranges outside the
/// buffer are ignored by `write` and read as zeros by `read`; implementations never panic.
///
/// Alignment: the command queue page must be 4 KiB aligned on the bus; mailbox pools 1 KiB aligned.
pub trait DmaMemory {
    /// Bus address of byte 0, as the device uses it.
    fn bus_addr(&self) -> u64;
    /// Length in bytes.
    fn len(&self) -> usize;
    /// Whether the buffer is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copies `out.len()` bytes starting at `offset` into `out`.
    fn read(&self, offset: usize, out: &mut [u8]);
    /// Copies `data` into the buffer starting at `offset`.
    fn write(&self, offset: usize, data: &[u8]);
    /// Sets `len` bytes from `offset` to zero. The default writes from a buffer of zeros; a host that
    /// can store zeros without reading them (`memset`) overrides it.
    fn zero(&self, offset: usize, len: usize) {
        static ZEROS: [u8; 512] = [0; 512];
        let mut done = 0usize;
        while done < len {
            let n = len.saturating_sub(done).min(ZEROS.len());
            self.write(offset.saturating_add(done), ZEROS.get(..n).unwrap_or(&[]));
            done = done.saturating_add(n);
        }
    }
}

impl<T: DmaMemory + ?Sized> DmaMemory for &T {
    fn bus_addr(&self) -> u64 {
        (**self).bus_addr()
    }
    fn len(&self) -> usize {
        (**self).len()
    }
    fn read(&self, offset: usize, out: &mut [u8]) {
        (**self).read(offset, out)
    }
    fn write(&self, offset: usize, data: &[u8]) {
        (**self).write(offset, data)
    }
    fn zero(&self, offset: usize, len: usize) {
        (**self).zero(offset, len)
    }
}

/// Time, as the host has it.
///
/// A host with a monotonic clock returns it from `now_us`; one without (UEFI has no guaranteed monotonic
/// clock) returns `None`, and the engine then counts its waits as budgets of `delay_us` calls. Either way
/// every wait of the engine is bounded.
pub trait Clock {
    /// Microseconds since an arbitrary fixed origin, or `None` when the host has no monotonic clock.
    fn now_us(&self) -> Option<u64>;
    /// Waits at least `us` microseconds (busy-wait, `Stall`, `udelay`, or a sleep). `0` may just spin once.
    fn delay_us(&self, us: u32);
}

impl<T: Clock + ?Sized> Clock for &T {
    fn now_us(&self) -> Option<u64> {
        (**self).now_us()
    }
    fn delay_us(&self, us: u32) {
        (**self).delay_us(us)
    }
}

/// Size of a firmware page: the PRM's pages are 4 KiB whatever the host's page size.
pub const FW_PAGE_SIZE: usize = 4096;

/// Gives the firmware 4 KiB DMA pages and takes them back.
///
/// The firmware asks for pages (QUERY_PAGES boot/init) before it can initialize; the engine asks this
/// provider for each one and hands the bus address to the firmware (MANAGE_PAGES). At teardown the
/// firmware returns them, and the engine gives them back here. The provider owns the memory and keeps
/// track of what is out; the engine allocates nothing.
pub trait PageProvider {
    /// A zeroed, 4 KiB aligned page of 4 KiB; its bus address, or `None` when memory is exhausted.
    fn alloc_page(&mut self) -> Option<u64>;
    /// Takes back the page at `bus_addr` that the firmware returned. Returns false if the provider never
    /// gave out that address (the firmware returned something it was not given).
    fn free_page(&mut self, bus_addr: u64) -> bool;
    /// How many pages are currently given out.
    fn pages_out(&self) -> usize;
}

#[cfg(feature = "volatile-register")]
#[allow(unsafe_code)] // The only module that touches device memory and DMA buffers through raw pointers.
mod mapped;
#[cfg(feature = "volatile-register")]
pub use mapped::{InitSegRegs, MappedBar, RawDma};
