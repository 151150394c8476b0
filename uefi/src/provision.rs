//! The provisioning job, generic over the host: the same code drives the device model and a real ConnectX
//! behind the PCI I/O protocol.
//!
//! Bring the HCA up, read adapter information and capabilities, set port 1 administratively down through
//! PAOS and read it back, restore it, and tear the HCA down, printing each result on the console.

use mlx5_cmdif::engine::hca::{self, BringUp};
use mlx5_cmdif::engine::{Cmdq, Config, Error};
use mlx5_cmdif::host::{Clock, DmaMemory, Mmio, PageProvider};
use mlx5_cmdif::prm::{CmdHcaCap, PaosReg, PortStatus, QueryAdapter, QueryAdapterIn};
use uefi::println;

/// The port whose administrative state the job changes.
const PORT: u8 = 1;

/// Why the job failed.
#[derive(Debug)]
pub enum Failure {
    /// A command or a wait of the engine failed.
    Engine(Error),
    /// The port's state read back is not the one written.
    ReadBack {
        /// What was written.
        wrote: PortStatus,
        /// What PAOS reported afterwards.
        read: PortStatus,
    },
    /// Firmware still holds pages after teardown.
    PagesLeft(usize),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Engine(e)
    }
}

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Failure::Engine(e) => write!(f, "{e} (errno {})", e.errno()),
            Failure::ReadBack { wrote, read } => write!(f, "PAOS wrote {wrote:?} but read back {read:?}"),
            Failure::PagesLeft(n) => write!(f, "{n} pages still given out after teardown"),
        }
    }
}

/// The NUL-padded ASCII of a PRM string field, up to the first NUL (non-ASCII bytes as `?`).
struct Ascii<'a>(&'a [u8]);

impl core::fmt::Display for Ascii<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for &b in self.0.iter().take_while(|b| **b != 0) {
            let c = if b.is_ascii_graphic() || b == b' ' { char::from(b) } else { '?' };
            core::fmt::Write::write_char(f, c)?;
        }
        Ok(())
    }
}

/// Runs the job on a host: `mmio` is BAR0, `queue` the 4 KiB command queue page, `pool` the mailbox pool,
/// `pages` what firmware gets its pages from.
pub fn run<M: Mmio, C: Clock, Q: DmaMemory, P: DmaMemory, PP: PageProvider>(
    mmio: M,
    clock: C,
    queue: Q,
    pool: P,
    pages: &mut PP,
) -> Result<(), Failure> {
    let mut q = Cmdq::new(mmio, clock, queue, pool, Config::default())?;
    let g = q.geometry();
    println!("command queue: {} slots of {} bytes, firmware {}", g.slots, g.stride, q.fw_version());

    let info = hca::bring_up(&mut q, pages, &BringUp { driver_version: "mlx5-cmdif-uefi,0.1.0" })?;
    println!("HCA up: ISSI {}, {} boot + {} init pages", info.issi, info.boot_pages, info.init_pages);

    let adapter = q.execute::<QueryAdapter>(&QueryAdapterIn::new())?;
    let a = adapter.query_adapter_struct();
    println!("adapter: vendor id {:#06x}, PSID {}", a.ieee_vendor_id(), Ascii(a.vsd_contd_psid_bytes()));

    let cur: CmdHcaCap = q.query_cap(true)?;
    let max: CmdHcaCap = q.query_cap(false)?;
    println!("caps: ports {}, log_max_qp {} (max {})", cur.num_ports(), cur.log_max_qp(), max.log_max_qp());
    println!("caps: log_max_cq {} (max {}), max_tc {}", cur.log_max_cq(), max.log_max_cq(), cur.max_tc());

    let before = q.read_register(&PaosReg::new().with_local_port(PORT), 0)?.admin_status();
    let target = if before == PortStatus::DOWN { PortStatus::UP } else { PortStatus::DOWN };
    q.write_register(&PaosReg::new().with_local_port(PORT).with_admin_status(target).with_ase(true), 0)?;
    let after = q.read_register(&PaosReg::new().with_local_port(PORT), 0)?.admin_status();
    println!("port {PORT} admin state: {before:?} -> {after:?} (wrote {target:?})");
    if after != target {
        return Err(Failure::ReadBack { wrote: target, read: after });
    }
    q.write_register(&PaosReg::new().with_local_port(PORT).with_admin_status(before).with_ase(true), 0)?;
    let restored = q.read_register(&PaosReg::new().with_local_port(PORT), 0)?.admin_status();
    println!("port {PORT} admin state restored: {restored:?}");
    if restored != before {
        return Err(Failure::ReadBack { wrote: before, read: restored });
    }

    let returned = hca::teardown(&mut q, pages)?;
    println!("HCA torn down: {returned} pages returned, {} still out", pages.pages_out());
    if pages.pages_out() != 0 {
        return Err(Failure::PagesLeft(pages.pages_out()));
    }
    Ok(())
}
