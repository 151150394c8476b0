//! The footprint probe: the engine, HCA bring-up and teardown, and a few typed commands, over a fake host
//! whose every access is a volatile access to static memory, so that the optimizer cannot see through
//! the host and drop the engine. Never run; built to be measured (`benches/footprint.sh`).
#![no_std]
#![no_main]

use core::cell::UnsafeCell;
use core::hint::black_box;
use core::panic::PanicInfo;
use core::ptr;

use mlx5_cmdif::engine::hca::{self, BringUp};
use mlx5_cmdif::engine::{Cmdq, Config};
use mlx5_cmdif::host::{Clock, DmaMemory, Mmio, PageProvider};
use mlx5_cmdif::prm::{
    CmdHcaCap, Nop, NopIn, PaosReg, QueryAdapter, QueryAdapterIn, QueryNicVportContext, QueryNicVportContextIn,
};

/// Static memory the fake device and host share.
#[repr(C, align(4096))]
struct Mem<const N: usize>(UnsafeCell<[u8; N]>);

// SAFETY: the probe is single-threaded; the memory is only touched through volatile accesses.
unsafe impl<const N: usize> Sync for Mem<N> {}

static BAR0: Mem<4096> = Mem(UnsafeCell::new([0; 4096]));
static QUEUE: Mem<4096> = Mem(UnsafeCell::new([0; 4096]));
static POOL: Mem<{ 16 * 1024 }> = Mem(UnsafeCell::new([0; 16 * 1024]));

/// BAR0 as volatile 32-bit accesses.
struct Bar;

impl Mmio for Bar {
    fn read32(&self, offset: usize) -> u32 {
        if offset + 4 > 4096 {
            return u32::MAX;
        }
        // SAFETY: in bounds (checked above) of a static buffer; aligned by the engine (dword offsets).
        unsafe { ptr::read_volatile(BAR0.0.get().cast::<u8>().add(offset).cast::<u32>()) }
    }
    fn write32(&self, offset: usize, value: u32) {
        if offset + 4 <= 4096 {
            // SAFETY: as in `read32`.
            unsafe { ptr::write_volatile(BAR0.0.get().cast::<u8>().add(offset).cast::<u32>(), value) }
        }
    }
}

/// DMA memory as volatile byte copies.
struct Dma<const N: usize>(&'static Mem<N>, u64);

impl<const N: usize> DmaMemory for Dma<N> {
    fn bus_addr(&self) -> u64 {
        self.1
    }
    fn len(&self) -> usize {
        N
    }
    fn read(&self, offset: usize, out: &mut [u8]) {
        let base = self.0 .0.get().cast::<u8>();
        for (i, b) in out.iter_mut().enumerate() {
            let at = offset + i;
            // SAFETY: `at < N` is checked; the buffer is static.
            *b = if at < N { unsafe { ptr::read_volatile(base.add(at)) } } else { 0 };
        }
    }
    fn write(&self, offset: usize, data: &[u8]) {
        let base = self.0 .0.get().cast::<u8>();
        for (i, b) in data.iter().enumerate() {
            let at = offset + i;
            if at < N {
                // SAFETY: as in `read`.
                unsafe { ptr::write_volatile(base.add(at), *b) }
            }
        }
    }
}

/// A clockless host (as UEFI): waits are budgets of stalls.
struct Stall;

impl Clock for Stall {
    fn now_us(&self) -> Option<u64> {
        None
    }
    fn delay_us(&self, us: u32) {
        for _ in 0..black_box(us) {
            core::hint::spin_loop();
        }
    }
}

/// Pages from a bump allocator over a fake bus range (never touched: firmware owns them).
struct Pages {
    next: u64,
    out: usize,
}

impl PageProvider for Pages {
    fn alloc_page(&mut self) -> Option<u64> {
        self.next += 4096;
        self.out += 1;
        Some(self.next)
    }
    fn free_page(&mut self, _bus_addr: u64) -> bool {
        self.out = self.out.saturating_sub(1);
        true
    }
    fn pages_out(&self) -> usize {
        self.out
    }
}

fn probe() -> u32 {
    let queue = Dma(&QUEUE, black_box(0x1000_0000));
    let pool = Dma(&POOL, black_box(0x2000_0000));
    let Ok(mut q) = Cmdq::new(Bar, Stall, queue, pool, black_box(Config::default())) else { return 1 };
    let mut pages = Pages { next: 0x4000_0000, out: 0 };
    let Ok(info) = hca::bring_up(&mut q, &mut pages, &BringUp::default()) else { return 2 };
    let mut sum = u32::from(info.issi);
    if q.execute::<Nop>(&NopIn::new()).is_ok() {
        sum += 1;
    }
    if let Ok(a) = q.execute::<QueryAdapter>(&QueryAdapterIn::new()) {
        sum += u32::from(a.query_adapter_struct().ieee_vendor_id() != 0);
    }
    if let Ok(v) = q.execute::<QueryNicVportContext>(&QueryNicVportContextIn::new()) {
        sum += v.nic_vport_context().permanent_address().mac_addr_31_0();
    }
    if let Ok(cap) = q.query_cap::<CmdHcaCap>(true) {
        sum += u32::from(cap.log_max_qp());
    }
    if let Ok(p) = q.read_register(&PaosReg::new().with_local_port(1), 0) {
        sum += u32::from(p.admin_status().0);
    }
    if q.health().fatal.is_some() {
        sum += 1;
    }
    if hca::teardown(&mut q, &mut pages).is_ok() {
        sum += 1;
    }
    sum
}

/// The queue type the probe builds, whose size `benches/footprint.sh` reports (it lives on the caller's
/// stack or in its static memory: the engine allocates nothing).
type Queue = Cmdq<Bar, Stall, Dma<4096>, Dma<{ 16 * 1024 }>>;

/// A symbol as large as the queue, in a section of its own that the footprint does not count: its
/// size is how `benches/footprint.sh` learns `size_of::<Cmdq>()` for this target.
#[used]
#[link_section = ".probe_sizes"]
#[no_mangle]
static CMDQ_SIZE_PROBE: [u8; core::mem::size_of::<Queue>()] = [0; core::mem::size_of::<Queue>()];

/// The entry point: no C runtime, no `main`.
#[no_mangle]
pub extern "C" fn _start() -> ! {
    black_box(probe());
    loop {
        core::hint::spin_loop();
    }
}

/// Hosted targets' precompiled `core` refers to the personality routine; with `panic = "abort"` it is
/// never called. Bare-metal targets do not need it.
#[cfg(not(target_os = "none"))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
