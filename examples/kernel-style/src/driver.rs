//! The driver: probe (command queue + HCA bring-up), a query, remove (teardown).

use mlx5_cmdif::engine::hca::{self, BringUp};
use mlx5_cmdif::engine::{Cmdq, Config, FwVersion};
use mlx5_cmdif::host::{Clock, DmaMemory, Mmio, PageProvider};
use mlx5_cmdif::prm::{CmdHcaCap, QueryAdapter, QueryAdapterIn};

use crate::{CoherentAllocation, DmaPagePool, Errno, IoMem, JiffiesClock, Kernel};

/// Size of the mailbox pool: 64 KiB of 1 KiB-aligned blocks (128 mailboxes of 512 bytes).
const MAILBOX_POOL_BYTES: usize = 64 * 1024;
/// Size of the command queue page.
const CMDQ_PAGE_BYTES: usize = 4096;

/// What the driver learned about the adapter at probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdapterInfo {
    /// Firmware version from the initialization segment.
    pub fw_version: FwVersion,
    /// PCI vendor id from QUERY_ADAPTER.
    pub vendor_id: u32,
    /// Board id (PSID), ASCII, NUL padded.
    pub psid: [u8; 16],
    /// Number of ports (general capabilities in force).
    pub num_ports: u8,
    /// log2 of the maximum number of QPs (general capabilities in force).
    pub log_max_qp: u8,
}

/// One probed ConnectX function: the command queue and the pages lent to its firmware.
///
/// Generic over the host parts so the same code runs on the kernel types ([`Mlx5KernelDev`]) and, in host
/// tests, on the device model.
pub struct Mlx5Dev<M: Mmio, C: Clock, D: DmaMemory, PP: PageProvider> {
    cmdq: Cmdq<M, C, D, D>,
    pages: PP,
    info: AdapterInfo,
}

impl<M: Mmio, C: Clock, D: DmaMemory, PP: PageProvider> core::fmt::Debug for Mlx5Dev<M, C, D, PP> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mlx5Dev").field("info", &self.info).field("pages_out", &self.pages.pages_out()).finish()
    }
}

/// The driver on kernel types: `IoMem` BAR0, jiffies clock, coherent DMA memory, at most `N` firmware pages.
pub type Mlx5KernelDev<'k, K, const N: usize> =
    Mlx5Dev<IoMem, JiffiesClock<'k, K>, CoherentAllocation<'k, K>, DmaPagePool<'k, K, N>>;

impl<M: Mmio, C: Clock, D: DmaMemory, PP: PageProvider> Mlx5Dev<M, C, D, PP> {
    /// Brings the function up: the command queue (`Cmdq::new`), the HCA (`hca::bring_up`: enable, ISSI,
    /// pages, capabilities, init), then reads adapter information.
    ///
    /// On failure after the queue is up, tears down what bring-up did (best effort, as `mlx5_core`'s
    /// error path does) before the memory is dropped.
    ///
    /// # Errors
    /// The engine's error as `-errno` (`-ETIMEDOUT` when firmware does not become ready, `-ENXIO` when the
    /// device is gone, `-ENOMEM` when pages run out, `-EIO`/`-EINVAL`/... for firmware failures).
    pub fn probe(bar: M, clock: C, cmdq_page: D, mailboxes: D, mut pages: PP) -> Result<Self, Errno> {
        let mut cmdq = Cmdq::new(bar, clock, cmdq_page, mailboxes, Config::default())?;
        let bring_up = BringUp { driver_version: "Linux,mlx5-kernel-style,0.0.0" };
        if let Err(e) = hca::bring_up(&mut cmdq, &mut pages, &bring_up) {
            let _ = hca::teardown(&mut cmdq, &mut pages);
            return Err(e.into());
        }
        match Self::query(&mut cmdq) {
            Ok(info) => Ok(Mlx5Dev { cmdq, pages, info }),
            Err(e) => {
                let _ = hca::teardown(&mut cmdq, &mut pages);
                Err(e)
            }
        }
    }

    fn query(cmdq: &mut Cmdq<M, C, D, D>) -> Result<AdapterInfo, Errno> {
        let adapter = cmdq.execute::<QueryAdapter>(&QueryAdapterIn::new())?;
        let a = adapter.query_adapter_struct();
        let caps: CmdHcaCap = cmdq.query_cap(true)?;
        Ok(AdapterInfo {
            fw_version: cmdq.fw_version(),
            vendor_id: a.ieee_vendor_id(),
            psid: *a.vsd_contd_psid_bytes(),
            num_ports: caps.num_ports(),
            log_max_qp: caps.log_max_qp(),
        })
    }

    /// What probe learned.
    pub fn info(&self) -> &AdapterInfo {
        &self.info
    }

    /// The command queue, for further commands (e.g. `read_register`).
    pub fn cmdq(&mut self) -> &mut Cmdq<M, C, D, D> {
        &mut self.cmdq
    }

    /// Pages currently lent to firmware.
    pub fn pages_out(&self) -> usize {
        self.pages.pages_out()
    }

    /// Tears the function down (`hca::teardown`: TEARDOWN_HCA, reclaim every page, DISABLE_HCA) and hands
    /// the host parts back; the DMA memory is freed when they are dropped.
    ///
    /// # Errors
    /// The engine's error as `-errno`; the parts are dropped then (a real driver would reset the function
    /// first, as `mlx5_core` does when teardown fails).
    pub fn remove(mut self) -> Result<(M, C, D, D, PP), Errno> {
        hca::teardown(&mut self.cmdq, &mut self.pages)?;
        let (m, c, q, p) = self.cmdq.into_parts();
        Ok((m, c, q, p, self.pages))
    }
}

/// The PCI probe callback on kernel types: allocates the command queue page and the mailbox pool
/// (`dma_alloc_coherent`), then [`Mlx5Dev::probe`].
///
/// # Errors
/// `-ENOMEM` when the DMA allocations fail; otherwise as [`Mlx5Dev::probe`]. Everything allocated is freed
/// on the error path.
pub fn mlx5_probe<'k, K: Kernel, const N: usize>(kernel: &'k K, bar: IoMem) -> Result<Mlx5KernelDev<'k, K, N>, Errno> {
    let cmdq_page = CoherentAllocation::alloc(kernel, CMDQ_PAGE_BYTES).ok_or(Errno::ENOMEM)?;
    let mailboxes = CoherentAllocation::alloc(kernel, MAILBOX_POOL_BYTES).ok_or(Errno::ENOMEM)?;
    Mlx5Dev::probe(bar, JiffiesClock::new(kernel), cmdq_page, mailboxes, DmaPagePool::new(kernel))
}

/// The PCI remove callback, C-shaped: `0`, or `-errno` when teardown failed.
pub fn mlx5_remove<K: Kernel, const N: usize>(dev: Mlx5KernelDev<'_, K, N>) -> i32 {
    match dev.remove() {
        Ok(_parts) => 0,
        Err(e) => e.to_errno(),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use core::cell::Cell;
    use core::ptr::NonNull;
    use std::alloc::{alloc_zeroed, dealloc, Layout};
    use std::vec::Vec;

    use mlx5_cmdif::command::Command;
    use mlx5_cmdif::prm::{CmdStatus, QueryAdapter};
    use mlx5_cmdif::sim::{Fault, SimBus, SimClock, SimConfig, SimDevice, SimPages, When};

    use super::*;
    use crate::DmaAddr;

    /// A kernel made of the host's allocator and a tick counter that udelay advances.
    #[derive(Default)]
    struct FakeKernel {
        jiffies: Cell<u64>,
        udelays: Cell<Vec<u32>>,
        live: Cell<usize>,
    }

    const ALIGN: usize = 4096;

    impl Kernel for FakeKernel {
        const HZ: u64 = 1000;
        fn jiffies(&self) -> u64 {
            self.jiffies.get()
        }
        fn udelay(&self, us: u32) {
            self.jiffies.set(self.jiffies.get() + u64::from(us.div_ceil(1000)));
            let mut v = self.udelays.take();
            v.push(us);
            self.udelays.set(v);
        }
        fn dma_alloc_coherent(&self, size: usize) -> Option<(NonNull<u8>, DmaAddr)> {
            let layout = Layout::from_size_align(size.max(1), ALIGN).ok()?;
            // SAFETY: non-zero size.
            let p = NonNull::new(unsafe { alloc_zeroed(layout) })?;
            self.live.set(self.live.get() + 1);
            Some((p, p.as_ptr() as u64)) // identity "IOMMU"
        }
        unsafe fn dma_free_coherent(&self, size: usize, cpu_addr: NonNull<u8>, _dma: DmaAddr) {
            self.live.set(self.live.get() - 1);
            // SAFETY: allocated above with this layout.
            unsafe { dealloc(cpu_addr.as_ptr(), Layout::from_size_align(size.max(1), ALIGN).unwrap()) }
        }
    }

    fn sim_probe(
        device: &SimDevice,
        bus: &std::sync::Arc<SimBus>,
    ) -> Result<Mlx5Dev<impl Mmio, SimClock, impl DmaMemory, SimPages>, Errno> {
        Mlx5Dev::probe(
            device.mmio(),
            SimClock::new(),
            bus.alloc(CMDQ_PAGE_BYTES, 4096),
            bus.alloc(MAILBOX_POOL_BYTES, 1024),
            SimPages::new(bus),
        )
    }

    #[test]
    fn probe_query_remove_against_the_device_model() {
        let bus = SimBus::new();
        let device = SimDevice::new(&bus, SimConfig::default());
        let dev = sim_probe(&device, &bus).unwrap();
        let info = *dev.info();
        assert_eq!(&info.psid[..13], b"MT_0000000359");
        assert_eq!(info.num_ports, 2);
        assert_eq!(info.fw_version.major, 22);
        assert!(dev.pages_out() > 0);
        assert_eq!(dev.pages_out(), device.pages_held());
        let (.., pages) = dev.remove().unwrap();
        assert_eq!(pages.pages_out(), 0);
        assert_eq!(device.pages_held(), 0);
    }

    #[test]
    fn failures_are_negative_errnos_and_undo_bring_up() {
        let bus = SimBus::new();
        let device = SimDevice::new(&bus, SimConfig::default());
        let syndrome = 0x1234;
        device.arm(Fault::FwStatus { status: CmdStatus::BAD_PARAMETER, syndrome }, When::Opcode(QueryAdapter::OPCODE));
        assert_eq!(sim_probe(&device, &bus).unwrap_err().to_errno(), -22); // -EINVAL, as cmd_status_to_err
        assert_eq!(device.pages_held(), 0, "the error path tore the HCA down");

        let gone = SimDevice::new(&bus, SimConfig::default());
        gone.inject(Fault::SurpriseRemoval);
        assert_eq!(sim_probe(&gone, &bus).unwrap_err().to_errno(), -6); // -ENXIO
    }

    #[test]
    fn kernel_probe_frees_everything_on_error() {
        let kernel = FakeKernel::default();
        // A BAR of zeros: firmware ready, but command-interface revision 0.
        let mut zeros = [0u32; 0x2010 / 4];
        // SAFETY: `zeros` is aligned, 0x2010 bytes, and outlives the IoMem.
        let bar = unsafe { IoMem::new(NonNull::from(&mut zeros).cast(), 0x2010) };
        let err = mlx5_probe::<FakeKernel, 64>(&kernel, bar).unwrap_err();
        assert_eq!(err.to_errno(), -95); // -EOPNOTSUPP
        assert_eq!(kernel.live.get(), 0);

        // A BAR of all ones: the device is gone.
        let mut ones = [u32::MAX; 0x2010 / 4];
        // SAFETY: as above.
        let bar = unsafe { IoMem::new(NonNull::from(&mut ones).cast(), 0x2010) };
        assert_eq!(mlx5_probe::<FakeKernel, 64>(&kernel, bar).unwrap_err().to_errno(), -6);
        assert_eq!(kernel.live.get(), 0);
    }

    #[test]
    fn page_pool_and_clock_glue() {
        let kernel = FakeKernel::default();
        let mut pool = DmaPagePool::<FakeKernel, 2>::new(&kernel);
        let a = pool.alloc_page().unwrap();
        let b = pool.alloc_page().unwrap();
        assert_eq!(pool.alloc_page(), None, "the table is full");
        assert_eq!(a % 4096, 0);
        assert!(pool.free_page(a) && !pool.free_page(a));
        assert_eq!((pool.pages_out(), kernel.live.get()), (1, 1));
        drop(pool);
        assert_eq!(kernel.live.get(), 0, "pages still out are freed on drop");
        let _ = b;

        let mem = CoherentAllocation::alloc(&kernel, 16).unwrap();
        mem.write(14, &[1, 2, 3]);
        let mut out = [9u8; 4];
        mem.read(13, &mut out);
        assert_eq!(out, [0, 1, 2, 0]);
        drop(mem);

        let clock = JiffiesClock::new(&kernel);
        let t0 = clock.now_us().unwrap();
        clock.delay_us(2500);
        assert_eq!(kernel.udelays.take(), [1000, 1000, 500]);
        assert_eq!(clock.now_us().unwrap() - t0, 3000); // three ticks of 1 ms
    }
}
