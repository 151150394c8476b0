//! A command queue on the device model, brought up and ready for commands.

use std::sync::Arc;

use mlx5_cmdif::engine::hca::{self, BringUp};
use mlx5_cmdif::engine::{Cmdq, Config, Error, Options};
use mlx5_cmdif::prm::{Nop, NopIn, Opcode};
use mlx5_cmdif::sim::{SimBus, SimClock, SimConfig, SimDevice, SimDma, SimMmio, SimPages};

/// The engine over the device model's host.
pub type SimQueue = Cmdq<SimMmio, SimClock, SimDma, SimDma>;

/// Mailbox pool of the rigs: room for a 256 KiB input and a 256 KiB output at once, twice over.
pub const POOL_BYTES: usize = 2 << 20;

/// The message size of the mailbox benchmark: 256 KiB each way.
pub const RPC_BYTES: usize = 256 << 10;

/// A device model and a command queue on it, with the HCA brought up.
pub struct SimRig {
    /// The bus the device and the host share (kept alive as long as the rig).
    pub bus: Arc<SimBus>,
    /// The device model.
    pub dev: SimDevice,
    /// The command queue.
    pub q: SimQueue,
    /// The pages firmware holds.
    pub pages: SimPages,
}

impl SimRig {
    /// A device model on its own thread (`threaded`) or executing in the doorbell write, and a queue with
    /// `cfg`, brought up (ENABLE_HCA, pages, INIT_HCA, ...).
    ///
    /// # Errors
    /// Any error of [`Cmdq::new`] or [`hca::bring_up`].
    pub fn new(threaded: bool, cfg: Config) -> Result<SimRig, Error> {
        let bus = SimBus::new();
        let dev = if threaded {
            SimDevice::threaded(&bus, SimConfig::default())
        } else {
            SimDevice::new(&bus, SimConfig::default())
        };
        let mut q = Cmdq::new(dev.mmio(), SimClock::new(), bus.alloc(4096, 4096), bus.alloc(POOL_BYTES, 1024), cfg)?;
        let mut pages = SimPages::new(&bus);
        hca::bring_up(&mut q, &mut pages, &BringUp::default())?;
        Ok(SimRig { bus, dev, q, pages })
    }

    /// Executes one inline NOP.
    ///
    /// # Errors
    /// As [`Cmdq::execute`].
    #[inline]
    pub fn nop(&mut self) -> Result<(), Error> {
        self.q.execute::<Nop>(&NopIn::new()).map(|_| ())
    }
}

impl Drop for SimRig {
    fn drop(&mut self) {
        let _ = hca::teardown(&mut self.q, &mut self.pages);
        self.dev.shutdown();
    }
}

/// The input of the mailbox benchmark: a NOP header followed by `len - 16` bytes of a pattern.
pub fn rpc_input(len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
    let hdr = NopIn::new().with_opcode(Opcode::NOP.0);
    if let Some(h) = v.get_mut(..hdr.0.len()) {
        h.copy_from_slice(&hdr.0);
    }
    v
}

/// One raw command of `input.len()` bytes in and `out.len()` bytes out, through mailbox chains.
///
/// # Errors
/// As [`Cmdq::execute_raw`], plus [`Error::Firmware`] for a non-OK status.
#[inline]
pub fn rpc<M, C, Q, P>(q: &mut Cmdq<M, C, Q, P>, input: &[u8], out: &mut [u8]) -> Result<usize, Error>
where
    M: mlx5_cmdif::host::Mmio,
    C: mlx5_cmdif::host::Clock,
    Q: mlx5_cmdif::host::DmaMemory,
    P: mlx5_cmdif::host::DmaMemory,
{
    q.execute_raw(input, out, Options::default())?.check().map(|c| c.len)
}
