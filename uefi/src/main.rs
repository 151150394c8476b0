//! `mlx5-provision`: UEFI pre-boot provisioning of ConnectX (mlx5) adapters with `mlx5-cmdif`.
//!
//! 1. Looks for ConnectX functions (PCI vendor 0x15b3) among the PCI I/O protocol instances the firmware
//!    installed, and runs the provisioning job ([`provision::run`]) on each through [`pci_host`].
//! 2. Runs the same job on the library's device model in-process (feature `sim-core`: `core` + `alloc`,
//!    synchronous), so the application shows the whole flow without hardware — in QEMU, in CI.
//!
//! Everything is printed on the UEFI console (which OVMF mirrors to the serial port). The last line is
//! `mlx5-provision: PASS` or `mlx5-provision: FAIL`. With the `qemu-exit` feature the application then
//! leaves QEMU through `isa-debug-exit` (exit status 33 for PASS, 35 for FAIL); otherwise it returns to the
//! firmware with `SUCCESS` or `ABORTED`.
#![no_std]
#![no_main]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

extern crate alloc;

mod clock;
mod pci_host;
mod provision;

use mlx5_cmdif::sim::{SimBus, SimConfig, SimDevice, SimPages};
use uefi::boot::{self, OpenProtocolAttributes, OpenProtocolParams, SearchType};
use uefi::{println, Identify, Status};

use clock::StallClock;
use pci_host::{PciDma, PciIo, PciMmio, PciPages, MELLANOX_VENDOR_ID};

/// Size of the mailbox pool: 64 pages (256 KiB), enough for the largest command the job sends.
const MAILBOX_PAGES: usize = 64;

#[uefi::entry]
fn main() -> Status {
    // Only sets up the optional logger, which this application does not enable; nothing to report.
    let _ = uefi::helpers::init();
    println!("mlx5-provision {}: ConnectX pre-boot provisioning", env!("CARGO_PKG_VERSION"));

    let mut ok = true;
    let found = hardware(&mut ok);
    println!("PCI: {found} ConnectX function(s) found");

    println!("== device model (in-process, no ConnectX needed)");
    match model() {
        Ok(()) => println!("device model: provisioning done"),
        Err(e) => {
            println!("device model: FAILED: {e}");
            ok = false;
        }
    }

    println!("mlx5-provision: {}", if ok { "PASS" } else { "FAIL" });
    finish(ok)
}

/// Lists the PCI functions the firmware enumerated (vendor:device and location, read through our PCI I/O
/// protocol declaration) and provisions every ConnectX among them; returns how many ConnectX were found.
fn hardware(ok: &mut bool) -> usize {
    let Ok(handles) = boot::locate_handle_buffer(SearchType::ByProtocol(&PciIo::GUID)) else {
        println!("PCI: no PCI I/O protocol instances");
        return 0;
    };
    if let Some(&first) = handles.first() {
        match dma_self_test(first) {
            Ok(bus) => println!("PCI DMA self-test: page mapped at bus {bus:#x}, pattern read back, pages freed"),
            Err(e) => {
                println!("PCI DMA self-test: FAILED: {e}");
                *ok = false;
            }
        }
    }
    let mut found = 0;
    for &handle in handles.iter() {
        let params = OpenProtocolParams { handle, agent: boot::image_handle(), controller: None };
        // SAFETY: GetProtocol opens without taking ownership; we only read configuration space through it and
        // drop it before anything could uninstall the protocol.
        let Ok(io) = (unsafe { boot::open_protocol::<PciIo>(params, OpenProtocolAttributes::GetProtocol) }) else {
            continue;
        };
        let Ok((vendor, device)) = io.ids() else { continue };
        match io.location() {
            Ok(l) => println!("PCI {l}: {vendor:04x}:{device:04x}"),
            Err(_) => println!("PCI ?: {vendor:04x}:{device:04x}"),
        }
        drop(io);
        if vendor != MELLANOX_VENDOR_ID {
            continue;
        }
        found += 1;
        // Exclusive: disconnects any firmware driver (e.g. the adapter's option ROM) from the function.
        let io = match boot::open_protocol_exclusive::<PciIo>(handle) {
            Ok(io) => io,
            Err(e) => {
                println!("ConnectX: cannot open PCI I/O exclusively: {:?}", e.status());
                *ok = false;
                continue;
            }
        };
        println!("== ConnectX {vendor:04x}:{device:04x}");
        if let Err(e) = on_pci(&io) {
            println!("ConnectX: FAILED: {e}");
            *ok = false;
        }
    }
    found
}

/// Exercises the DMA side of the PCI host adapter on any PCI function (the device itself is not touched):
/// AllocateBuffer + Map, volatile copies, the page provider, Unmap + FreeBuffer. Returns a bus address.
fn dma_self_test(handle: uefi::Handle) -> Result<u64, alloc::string::String> {
    use alloc::format;
    use mlx5_cmdif::host::{DmaMemory, PageProvider};
    let params = OpenProtocolParams { handle, agent: boot::image_handle(), controller: None };
    // SAFETY: GetProtocol opens without taking ownership; the protocol outlives this function's use of it.
    let io = unsafe { boot::open_protocol::<PciIo>(params, OpenProtocolAttributes::GetProtocol) }
        .map_err(|e| format!("open: {:?}", e.status()))?;
    let buf = io.alloc_dma(2).map_err(|s| format!("AllocateBuffer/Map: {s:?}"))?;
    let bus = buf.bus_addr();
    if bus % 4096 != 0 || buf.len() != 8192 {
        return Err(format!("bus address {bus:#x} / length {} not as asked", buf.len()));
    }
    let pattern: [u8; 7] = [0xde, 0xad, 0xbe, 0xef, 0x12, 0x34, 0x56];
    buf.write(4093, &pattern);
    let mut back = [0u8; 9];
    buf.read(4092, &mut back);
    if back != [0, 0xde, 0xad, 0xbe, 0xef, 0x12, 0x34, 0x56, 0] {
        return Err(format!("read back {back:02x?}"));
    }
    drop(buf);
    let mut pages = PciPages::new(&io);
    let (a, b) = (pages.alloc_page(), pages.alloc_page());
    let (Some(a), Some(b)) = (a, b) else { return Err(format!("page provider gave {a:?}, {b:?}")) };
    if a == b || !pages.free_page(a) || pages.free_page(a) || !pages.free_page(b) || pages.pages_out() != 0 {
        return Err(format!("page provider bookkeeping wrong ({a:#x}, {b:#x})"));
    }
    Ok(bus)
}

/// The job on a real function behind PCI I/O.
fn on_pci(io: &PciIo) -> Result<(), alloc::string::String> {
    use alloc::format;
    io.enable_device().map_err(|s| format!("enabling memory and bus mastering: {s:?}"))?;
    let queue: PciDma<'_> = io.alloc_dma(1).map_err(|s| format!("command queue page: {s:?}"))?;
    let pool: PciDma<'_> = io.alloc_dma(MAILBOX_PAGES).map_err(|s| format!("mailbox pool: {s:?}"))?;
    let mut pages = PciPages::new(io);
    provision::run(PciMmio::new(io), StallClock, queue, pool, &mut pages).map_err(|e| format!("{e}"))
}

/// The job on the device model: its BAR0 and bus, with UEFI's Stall clock.
fn model() -> Result<(), provision::Failure> {
    let bus = SimBus::new();
    let device = SimDevice::new(&bus, SimConfig::default());
    let mut pages = SimPages::new(&bus);
    let queue = bus.alloc(4096, 4096);
    let pool = bus.alloc(MAILBOX_PAGES * 4096, 1024);
    provision::run(device.mmio(), StallClock, queue, pool, &mut pages)?;
    println!("device model: firmware holds {} pages, port 1 admin {:?}", device.pages_held(), device.port_admin(1));
    Ok(())
}

/// Ends the application: through QEMU's isa-debug-exit with feature `qemu-exit`, else back to the firmware.
fn finish(ok: bool) -> Status {
    #[cfg(all(feature = "qemu-exit", target_arch = "x86_64"))]
    {
        // QEMU exits with status (value << 1) | 1: 33 for PASS, 35 for FAIL.
        let value: u32 = if ok { 0x10 } else { 0x11 };
        // SAFETY: writes the isa-debug-exit device QEMU was started with (`-device isa-debug-exit,
        // iobase=0xf4,iosize=0x04`); the feature is only for that machine. QEMU ends at this instruction.
        unsafe { core::arch::asm!("out dx, eax", in("dx") 0xf4u16, in("eax") value, options(nomem, nostack)) };
    }
    if ok {
        Status::SUCCESS
    } else {
        Status::ABORTED
    }
}
