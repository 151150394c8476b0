//! The cheapest device there is: a host whose doorbell write completes the rung entry at once by handing
//! its ownership bit back (delivery status OK, output all zeros = firmware status OK, signatures kept
//! valid). It does no fetching, checking or executing, so a benchmark on it measures the engine's own
//! work per command, with the device model's cost taken out.
//!
//! Single-threaded (`RefCell` memory): for synchronous benchmarks only.

use std::cell::RefCell;
use std::rc::Rc;

use mlx5_cmdif::engine::{Cmdq, Config, Error};
use mlx5_cmdif::host::{Clock, DmaMemory, Mmio};
use mlx5_cmdif::prm::{CmdQueueEntry, InitialSeg};

/// Byte offset of an entry's status/ownership byte.
const STATUS_OWN_BYTE: usize = CmdQueueEntry::FIELD_OWNERSHIP.offset / 8;
/// Byte offset of an entry's signature.
const SIGNATURE_BYTE: usize = CmdQueueEntry::FIELD_SIGNATURE.offset / 8;
/// Byte offset of the doorbell in BAR0.
const DOORBELL: usize = InitialSeg::FIELD_COMMAND_DOORBELL_VECTOR.offset / 32 * 4;
/// Log2 of the queue stride the device reports (64-byte entries).
const LOG_STRIDE: u8 = 6;

/// Memory shared by the host and the null device.
#[derive(Debug, Clone)]
pub struct NullDma {
    bytes: Rc<RefCell<Vec<u8>>>,
    bus_addr: u64,
}

impl NullDma {
    /// A zeroed buffer of `len` bytes at bus address `bus_addr`.
    pub fn new(len: usize, bus_addr: u64) -> Self {
        NullDma { bytes: Rc::new(RefCell::new(vec![0; len])), bus_addr }
    }
}

impl DmaMemory for NullDma {
    fn bus_addr(&self) -> u64 {
        self.bus_addr
    }
    fn len(&self) -> usize {
        self.bytes.borrow().len()
    }
    fn read(&self, offset: usize, out: &mut [u8]) {
        let b = self.bytes.borrow();
        match b.get(offset..offset.saturating_add(out.len())) {
            Some(src) => out.copy_from_slice(src),
            None => out.fill(0),
        }
    }
    fn write(&self, offset: usize, data: &[u8]) {
        let mut b = self.bytes.borrow_mut();
        if let Some(dst) = b.get_mut(offset..offset.saturating_add(data.len())) {
            dst.copy_from_slice(data);
        }
    }
    fn zero(&self, offset: usize, len: usize) {
        let mut b = self.bytes.borrow_mut();
        if let Some(dst) = b.get_mut(offset..offset.saturating_add(len)) {
            dst.fill(0);
        }
    }
}

/// BAR0 of the null device: a ready initialization segment and a doorbell that completes at once.
#[derive(Debug, Clone)]
pub struct NullMmio {
    seg: InitialSeg,
    queue: NullDma,
}

impl NullMmio {
    /// A device whose command queue is `queue` (the same memory the host lends the engine).
    pub fn new(queue: &NullDma) -> Self {
        let seg = InitialSeg::new()
            .with_cmd_interface_rev(5)
            .with_log_cmdq_size(5)
            .with_log_cmdq_stride(LOG_STRIDE)
            .with_fw_rev_major(22);
        NullMmio { seg, queue: queue.clone() }
    }

    fn complete(&self, slot: usize) {
        let mut q = self.queue.bytes.borrow_mut();
        let base = slot << LOG_STRIDE;
        let own = base + STATUS_OWN_BYTE;
        let Some(&status_own) = q.get(own) else { return };
        if status_own & 1 == 0 {
            return;
        }
        // Clearing the ownership bit changes the XOR of the entry by 1: the signature follows.
        if let Some(b) = q.get_mut(own) {
            *b = 0;
        }
        if let Some(s) = q.get_mut(base + SIGNATURE_BYTE) {
            *s ^= status_own;
        }
    }
}

impl Mmio for NullMmio {
    fn read32(&self, offset: usize) -> u32 {
        match self.seg.0.get(offset..offset.saturating_add(4)) {
            Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
            _ => u32::MAX,
        }
    }

    fn write32(&self, offset: usize, value: u32) {
        if offset != DOORBELL {
            return;
        }
        let mut bits = u32::from_be_bytes(value.to_le_bytes());
        while bits != 0 {
            self.complete(bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
}

/// A host without a clock (as UEFI): waits are budgets of delay calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoClock;

impl Clock for NoClock {
    fn now_us(&self) -> Option<u64> {
        None
    }
    fn delay_us(&self, _us: u32) {
        core::hint::spin_loop();
    }
}

/// The engine over the null device, with the host clock `C`.
pub type NullQueue<C> = Cmdq<NullMmio, C, NullDma, NullDma>;

/// A command queue on the null device with `cfg`, clock `clock` and a mailbox pool of `pool_bytes`.
///
/// # Errors
/// As [`Cmdq::new`].
pub fn null_queue<C: Clock>(clock: C, cfg: Config, pool_bytes: usize) -> Result<NullQueue<C>, Error> {
    let queue = NullDma::new(4096, 0x1_0000_0000);
    let pool = NullDma::new(pool_bytes, 0x2_0000_0000);
    Cmdq::new(NullMmio::new(&queue), clock, queue, pool, cfg)
}
