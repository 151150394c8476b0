//! The device: BAR0 behaviour, doorbells, command delivery and completion, sync and threaded modes.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
#[cfg(feature = "std")]
use std::thread::JoinHandle;

use super::bar::{self, Bar0};
use super::config::SimConfig;
use super::dma::{DeviceDma, HostPollWatcher, SimBus};
use super::fault::{Delay, Fault, FaultTable, LateTrigger, When};
use super::fw::{command_index, fail, failure_output, Firmware, HcaState};
use super::queue::{
    self, check_type, entry_signature_ok, fetch, place_inline_output, sign_entry, write_out_blocks, BlockFaults,
    OutBlock,
};
use super::sync::{lock, Mutex, MutexGuard};
use super::time::{DeviceTime, Stamp};
use crate::host::Mmio;
use crate::prm::{CmdQueueEntry, CmdStatus, DeliveryStatus, MboxInHdr, MboxOutHdr, NicInterface, PortStatus, COMMANDS};

/// What the device saw of one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandRecord {
    /// Queue slot.
    pub slot: u32,
    /// Opcode from the inline input header.
    pub opcode: u16,
    /// op_mod from the inline input header.
    pub op_mod: u16,
    /// uid from the inline input header.
    pub uid: u16,
    /// The entry's token.
    pub token: u8,
    /// The entry's input length.
    pub input_length: u32,
    /// The entry's output length.
    pub output_length: u32,
    /// Delivery status the device completed with (before any injected corruption).
    pub delivery: DeliveryStatus,
    /// Firmware status in the output header (meaningful when `delivery` is OK).
    pub status: CmdStatus,
    /// Syndrome in the output header.
    pub syndrome: u32,
}

/// Counters and the last command, for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimStats {
    /// Doorbell writes.
    pub doorbells: u64,
    /// Slots rung while the device could not take commands (initializing, dead, NIC interface not in
    /// full-driver mode, no queue address, slot beyond the queue size).
    pub ignored_doorbells: u64,
    /// Slots rung whose entry was not owned by hardware.
    pub spurious_doorbells: u64,
    /// Commands delivered and executed (whatever their firmware status).
    pub commands: u64,
    /// Commands completed with a delivery error.
    pub delivery_errors: u64,
    /// Device accesses to unmapped bus addresses.
    pub dma_faults: u64,
    /// The last command the device took (delivered or not).
    pub last: Option<CommandRecord>,
    /// Executed commands per opcode of [`COMMANDS`], by index in it (it is sorted by opcode).
    by_opcode: Vec<u64>,
    /// Executed commands per opcode not in [`COMMANDS`] (rare: no allocation in the steady state).
    unknown: BTreeMap<u16, u64>,
}

impl Default for SimStats {
    fn default() -> Self {
        SimStats {
            doorbells: 0,
            ignored_doorbells: 0,
            spurious_doorbells: 0,
            commands: 0,
            delivery_errors: 0,
            dma_faults: 0,
            last: None,
            by_opcode: vec![0; COMMANDS.len()],
            unknown: BTreeMap::new(),
        }
    }
}

impl SimStats {
    /// Executed commands with `opcode`.
    pub fn executed(&self, opcode: u16) -> u64 {
        match command_index(opcode) {
            Some(i) => self.by_opcode.get(i).copied().unwrap_or(0),
            None => self.unknown.get(&opcode).copied().unwrap_or(0),
        }
    }

    /// Executed commands per opcode, sorted by opcode (opcodes never executed left out).
    pub fn executed_by_opcode(&self) -> Vec<(u16, u64)> {
        let known = COMMANDS.iter().zip(&self.by_opcode).map(|(c, n)| (c.opcode, *n));
        let mut all: Vec<(u16, u64)> =
            known.chain(self.unknown.iter().map(|(op, n)| (*op, *n))).filter(|(_, n)| *n > 0).collect();
        all.sort_unstable();
        all
    }

    /// Counts one executed command; `index` is its [`command_index`].
    fn count(&mut self, index: Option<usize>, opcode: u16) {
        let slot = match index {
            Some(i) => self.by_opcode.get_mut(i),
            None => Some(self.unknown.entry(opcode).or_insert(0)),
        };
        if let Some(n) = slot {
            *n = n.saturating_add(1);
        }
    }
}

/// A completion ready to be written: the entry as it will land in host memory, and the output message
/// with the output blocks it goes to.
struct Completion {
    entry_addr: u64,
    entry: CmdQueueEntry,
    /// The output message, at most `output_length` bytes (the blocks that carry the bytes after the
    /// inline ones get them, the last one zero-padded; see [`write_out_blocks`]).
    output: Vec<u8>,
    /// The checked output chain (empty when the command was not delivered).
    blocks: Vec<OutBlock>,
    /// The token the output blocks are stamped with (the command's).
    token: u8,
    /// Injected corruption of the output blocks.
    block_faults: BlockFaults,
}

/// When a held-back completion is written.
enum Trigger {
    Polls(u32),
    At(Stamp),
    Mmio(u32),
    Manual,
}

struct Deferred {
    done: Completion,
    trigger: Trigger,
}

/// Mutable device state, behind one lock.
struct State {
    bar: Bar0,
    fw: Firmware,
    faults: FaultTable,
    deferred: Vec<Deferred>,
    stats: SimStats,
    init_reads_left: u32,
    stuck_initializing: bool,
    dead: bool,
    cmdq: Option<u64>,
    /// The device's DMA (the queue page and recently hit buffers resolved without the bus map).
    dma: DeviceDma,
    /// Reused buffers of the command being processed: input message, output message, output chain.
    input: Vec<u8>,
    output: Vec<u8>,
    out_blocks: Vec<OutBlock>,
}

/// A value on cache lines of its own, so that atomics one side writes on every command do not share a line
/// with those the other side writes (128 bytes: adjacent-line prefetch pairs lines).
#[repr(align(128))]
struct Line<T>(T);

/// The doorbell, written by the host on every command and polled by a device thread: alone on its lines,
/// so that the handoff costs no more cache-line transfers than the doorbell itself.
struct Bell {
    /// Doorbell bits rung and not yet taken by the device thread.
    pending: AtomicU32,
}

/// Whether host reads of the queue page always reach the device: without `std` they advance device time
/// (see `time.rs`); with it only while a held-back completion counts polls or waits for a time.
const ALWAYS_WATCH: bool = cfg!(not(feature = "std"));

/// The shared core of a device.
struct Core {
    me: Weak<Core>,
    bus: Arc<SimBus>,
    cfg: SimConfig,
    time: DeviceTime,
    bell: Line<Bell>,
    /// Doorbell writes to a threaded device (kept apart from [`SimStats`], which counts the synchronous
    /// ones under its lock, so that such a doorbell takes no lock; and apart from the bell so that counting
    /// one does not cost the device thread another transfer of the bell's line).
    doorbells: Line<AtomicU64>,
    st: Line<Mutex<State>>,
    removed: AtomicBool,
    threaded: AtomicBool,
    stop: AtomicBool,
    /// Some held-back completion waits for a time (the device thread checks it while idle).
    timed: AtomicBool,
    /// Some completion is held back (host accesses then count for it); kept equal to
    /// `!State::deferred.is_empty()` by [`Core::deferred_changed`].
    deferred: AtomicBool,
}

/// Owns the device thread (with `std`); dropping the last [`SimDevice`] stops it.
struct Handle {
    core: Arc<Core>,
    #[cfg(feature = "std")]
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        stop_thread(self);
    }
}

fn stop_thread(handle: &Handle) {
    let core = &handle.core;
    core.stop.store(true, Ordering::Release);
    #[cfg(feature = "std")]
    if let Some(t) = lock(&handle.thread).take() {
        let _ = t.join();
    }
    // SeqCst pairs with `Core::write32`: either the writer sees `threaded` false and executes its own bits,
    // or this swap sees them.
    core.threaded.store(false, Ordering::SeqCst);
    core.take_pending();
}

/// A simulated ConnectX adapter: BAR0 ([`Mmio`]) plus firmware that executes commands from a [`SimBus`].
///
/// Cheap to clone (an `Arc` inside). Two modes:
/// - synchronous ([`SimDevice::new`]): a doorbell write executes the rung commands inside `write32`, so
///   tests are deterministic; needs only `core` and `alloc` (feature `sim-core`), as in a UEFI application;
/// - threaded (`SimDevice::threaded`, with `std`): a device thread polls for doorbells and executes them,
///   as a real device does from another core. It stops when the last clone is dropped or on
///   [`SimDevice::shutdown`].
#[derive(Clone)]
pub struct SimDevice {
    handle: Arc<Handle>,
}

impl core::fmt::Debug for SimDevice {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SimDevice").field("threaded", &self.is_threaded()).field("state", &self.hca_state()).finish()
    }
}

/// BAR0 access to a [`SimDevice`] (what [`SimDevice::mmio`] returns).
#[derive(Clone)]
pub struct SimMmio {
    core: Arc<Core>,
}

impl core::fmt::Debug for SimMmio {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SimMmio")
    }
}

impl Mmio for SimMmio {
    fn read32(&self, offset: usize) -> u32 {
        self.core.read32(offset)
    }
    fn write32(&self, offset: usize, value: u32) {
        self.core.write32(offset, value)
    }
}

impl Mmio for SimDevice {
    fn read32(&self, offset: usize) -> u32 {
        self.core().read32(offset)
    }
    fn write32(&self, offset: usize, value: u32) {
        self.core().write32(offset, value)
    }
}

impl SimDevice {
    /// A device in synchronous mode, powered on (with `initializing` set for `cfg.boot_reads` reads).
    pub fn new(bus: &Arc<SimBus>, cfg: SimConfig) -> Self {
        let core = Arc::new_cyclic(|me| Core::new(me.clone(), Arc::clone(bus), cfg));
        SimDevice {
            handle: Arc::new(Handle {
                core,
                #[cfg(feature = "std")]
                thread: Mutex::new(None),
            }),
        }
    }

    /// A device in threaded mode: a device thread polls for doorbells and executes the commands.
    #[cfg(feature = "std")]
    pub fn threaded(bus: &Arc<SimBus>, cfg: SimConfig) -> Self {
        let dev = Self::new(bus, cfg);
        let core = Arc::clone(dev.core());
        core.threaded.store(true, Ordering::Release);
        let t = std::thread::Builder::new().name("mlx5-sim-device".into()).spawn(move || core.run());
        match t {
            Ok(t) => *lock(&dev.handle.thread) = Some(t),
            // No thread: fall back to synchronous execution.
            Err(_) => dev.core().threaded.store(false, Ordering::Release),
        }
        dev
    }

    fn core(&self) -> &Arc<Core> {
        &self.handle.core
    }

    /// BAR0 of the device.
    pub fn mmio(&self) -> SimMmio {
        SimMmio { core: Arc::clone(self.core()) }
    }

    /// The bus the device does DMA on.
    pub fn bus(&self) -> &Arc<SimBus> {
        &self.core().bus
    }

    /// The configuration the device was made with.
    pub fn config(&self) -> &SimConfig {
        &self.core().cfg
    }

    /// Whether a device thread executes the commands.
    pub fn is_threaded(&self) -> bool {
        self.core().threaded.load(Ordering::Acquire)
    }

    /// Stops the device thread (if any); from then on doorbells execute synchronously. Doorbells the
    /// thread had not taken yet are executed now.
    pub fn shutdown(&self) {
        stop_thread(&self.handle);
    }

    /// Arms a fault for the commands `when` selects. Device faults armed this way happen when a matching
    /// command arrives.
    pub fn arm(&self, fault: Fault, when: When) {
        self.core().lock().faults.arm(fault, when);
    }

    /// Applies a device fault now; a command fault is armed for the next command.
    pub fn inject(&self, fault: Fault) {
        if fault.is_command_fault() {
            self.arm(fault, When::Next);
        } else {
            let core = self.core();
            let mut st = core.lock();
            core.device_fault(&mut st, fault);
        }
    }

    /// Disarms every armed fault.
    pub fn disarm_all(&self) {
        self.core().lock().faults.clear();
    }

    /// Number of armed fault rules.
    pub fn armed(&self) -> usize {
        self.core().lock().faults.len()
    }

    /// Writes every held-back completion (delayed or late) now; returns how many.
    pub fn complete_late(&self) -> usize {
        let core = self.core();
        let mut st = core.lock();
        let all: Vec<Deferred> = st.deferred.drain(..).collect();
        core.deferred_changed(&st);
        let n = all.len();
        for d in all {
            core.write_completion(&mut st, &d.done);
        }
        n
    }

    /// Completions held back by a delay or late fault.
    pub fn pending_completions(&self) -> usize {
        self.core().lock().deferred.len()
    }

    /// Ends a [`Fault::StuckInitializing`]: the `initializing` bit clears (once its read count is used up).
    pub fn release_initializing(&self) {
        let mut st = self.core().lock();
        st.stuck_initializing = false;
        if st.init_reads_left == 0 {
            st.bar.set_initializing(false);
        }
    }

    /// Whether the device was surprise-removed.
    pub fn is_removed(&self) -> bool {
        self.core().removed.load(Ordering::Acquire)
    }

    /// A copy of the statistics.
    pub fn stats(&self) -> SimStats {
        let core = self.core();
        let mut s = core.lock().stats.clone();
        s.doorbells += core.doorbells.0.load(Ordering::Acquire);
        s
    }

    /// The HCA life-cycle state.
    pub fn hca_state(&self) -> HcaState {
        self.core().lock().fw.state
    }

    /// The ISSI in use.
    pub fn issi(&self) -> u16 {
        self.core().lock().fw.issi
    }

    /// Bus addresses of the pages firmware holds, in the order given.
    pub fn fw_pages(&self) -> Vec<u64> {
        self.core().lock().fw.pages().to_vec()
    }

    /// Number of pages firmware holds.
    pub fn pages_held(&self) -> usize {
        self.core().lock().fw.pages().len()
    }

    /// Live user-context ids, sorted.
    pub fn live_uids(&self) -> Vec<u16> {
        self.core().lock().fw.uctx.keys().copied().collect()
    }

    /// Administrative state of a port (1-based), as PAOS reports it.
    pub fn port_admin(&self, local_port: u8) -> Option<PortStatus> {
        self.core().lock().fw.ports.admin(local_port)
    }

    /// Operational state of a port (1-based).
    pub fn port_oper(&self, local_port: u8) -> Option<PortStatus> {
        self.core().lock().fw.ports.oper(local_port)
    }

    /// The driver version string from SET_DRIVER_VERSION (up to the first NUL).
    pub fn driver_version(&self) -> String {
        let v = self.core().lock().fw.driver_version;
        let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
        String::from_utf8_lossy(v.get(..end).unwrap_or(&[])).into_owned()
    }

    /// The sw_owner_id INIT_HCA was given.
    pub fn sw_owner_id(&self) -> [u32; 4] {
        self.core().lock().fw.sw_owner_id
    }

    /// The NIC interface mode as BAR0 reports it.
    pub fn nic_interface(&self) -> NicInterface {
        self.core().lock().bar.nic_interface()
    }

    /// The command queue address the host programmed, if any.
    pub fn cmdq_addr(&self) -> Option<u64> {
        self.core().lock().cmdq
    }
}

impl HostPollWatcher for Core {
    fn on_host_poll(&self) {
        self.time.tick();
        if !self.deferred.load(Ordering::Acquire) {
            return;
        }
        let mut st = self.lock();
        for d in &mut st.deferred {
            if let Trigger::Polls(n) = &mut d.trigger {
                *n = n.saturating_sub(1);
            }
        }
        self.complete_due(&mut st);
    }
}

impl Core {
    fn new(me: Weak<Core>, bus: Arc<SimBus>, cfg: SimConfig) -> Self {
        let mut bar = Bar0::new();
        let (major, minor, sub) = cfg.fw_version;
        let seg = bar.seg();
        seg.set_fw_rev_major(major);
        seg.set_fw_rev_minor(minor);
        seg.set_fw_rev_subminor(sub);
        seg.set_cmd_interface_rev(5);
        seg.set_log_cmdq_size(cfg.log_cmdq_size);
        seg.set_log_cmdq_stride(cfg.log_cmdq_stride);
        seg.set_initializing(cfg.boot_reads > 0);
        let h = bar.health();
        h.set_fw_version((u32::from(major) << 24) | (u32::from(minor & 0xff) << 16) | u32::from(sub));
        h.set_hw_id(0x212);
        bar.set_be32(bar::CMD_EXEC_TO, cfg.cmd_exec_to);
        bar.set_be32(bar::CMD_Q_INIT_TO, cfg.cmd_q_init_to);
        bar.set_nic_interface(NicInterface::FULL_DRIVER);
        let st = State {
            bar,
            fw: Firmware::new(&cfg),
            faults: FaultTable::default(),
            deferred: Vec::new(),
            stats: SimStats::default(),
            init_reads_left: cfg.boot_reads,
            stuck_initializing: false,
            dead: false,
            cmdq: None,
            dma: DeviceDma::new(Arc::clone(&bus)),
            input: Vec::new(),
            output: Vec::new(),
            out_blocks: Vec::new(),
        };
        Core {
            me,
            bus,
            cfg,
            time: DeviceTime::new(),
            bell: Line(Bell { pending: AtomicU32::new(0) }),
            doorbells: Line(AtomicU64::new(0)),
            st: Line(Mutex::new(st)),
            removed: AtomicBool::new(false),
            threaded: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            timed: AtomicBool::new(false),
            deferred: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.st.0)
    }

    /// Publishes what the lock-free host paths need to know about the held-back completions: whether
    /// there are any (MMIO accesses count), whether one waits for a time (the device thread checks), and
    /// whether host reads of the queue page must reach the device (a completion counts polls or waits for
    /// a time, which a poll also notices). Called after every change of `st.deferred`.
    fn deferred_changed(&self, st: &State) {
        let timed = st.deferred.iter().any(|d| matches!(d.trigger, Trigger::At(_)));
        let polled = timed || st.deferred.iter().any(|d| matches!(d.trigger, Trigger::Polls(_)));
        self.timed.store(timed, Ordering::Release);
        self.deferred.store(!st.deferred.is_empty(), Ordering::Release);
        if let Some(r) = st.dma.queue_page() {
            r.set_watched(ALWAYS_WATCH || polled);
        }
    }

    fn read32(&self, offset: usize) -> u32 {
        self.time.tick();
        if self.removed.load(Ordering::Acquire) {
            return u32::MAX;
        }
        let mut st = self.lock();
        self.on_mmio(&mut st);
        if self.removed.load(Ordering::Acquire) {
            return u32::MAX;
        }
        let v = st.bar.read32(offset);
        match offset {
            bar::INITIALIZING if st.init_reads_left > 0 => {
                st.init_reads_left -= 1;
                if st.init_reads_left == 0 && !st.stuck_initializing {
                    st.bar.set_initializing(false);
                }
            }
            bar::HEALTH_COUNTER if !st.dead => st.bar.bump_health_counter(),
            _ => {}
        }
        v
    }

    fn write32(&self, offset: usize, value: u32) {
        self.time.tick();
        if self.removed.load(Ordering::Acquire) || offset.saturating_add(4) > bar::SIZE {
            return;
        }
        let v = u32::from_be_bytes(value.to_le_bytes());
        if offset == bar::DOORBELL && self.threaded.load(Ordering::Acquire) {
            self.doorbells.0.fetch_add(1, Ordering::Relaxed);
            // Lock-free unless a held-back completion counts this access.
            if self.deferred.load(Ordering::Acquire) {
                let mut st = self.lock();
                self.on_mmio(&mut st);
            }
            self.bell.0.pending.fetch_or(v, Ordering::SeqCst);
            // The thread may have been stopped since the load above, after its last look at `pending`;
            // then nobody else would take these bits (see `stop_thread`).
            if !self.threaded.load(Ordering::SeqCst) {
                self.take_pending();
            }
            return;
        }
        let mut st = self.lock();
        // Counted before the write acts, so a doorbell does not count towards its own late completion.
        self.on_mmio(&mut st);
        match offset {
            bar::CMDQ_ADDR_H => st.bar.set_be32(bar::CMDQ_ADDR_H, v),
            bar::CMDQ_ADDR_L => {
                st.bar.write_cmdq_lo(v);
                let addr = st.bar.cmdq_addr();
                st.cmdq = Some(addr);
                let w: Weak<dyn HostPollWatcher> = self.me.clone();
                let page = self.bus.watch(addr, w);
                st.dma.set_queue_page(page);
                self.deferred_changed(&st);
                if self.cfg.reinit_reads > 0 {
                    st.bar.set_initializing(true);
                    st.init_reads_left = self.cfg.reinit_reads;
                }
            }
            // (A threaded device took its doorbell above, without the lock.)
            bar::DOORBELL => {
                st.stats.doorbells += 1;
                self.doorbell(&mut st, v);
            }
            _ => {}
        }
    }

    /// Executes the doorbell bits no device thread has taken.
    fn take_pending(&self) {
        let bits = self.bell.0.pending.swap(0, Ordering::SeqCst);
        if bits != 0 {
            let mut st = self.lock();
            self.doorbell(&mut st, bits);
        }
    }

    /// Counts an MMIO access for late completions and writes the ones that are due.
    fn on_mmio(&self, st: &mut State) {
        if st.deferred.is_empty() {
            return;
        }
        for d in &mut st.deferred {
            if let Trigger::Mmio(n) = &mut d.trigger {
                *n = n.saturating_sub(1);
            }
        }
        self.complete_due(st);
    }

    /// Writes the held-back completions whose trigger fired, oldest first.
    fn complete_due(&self, st: &mut State) {
        if st.deferred.is_empty() {
            return;
        }
        let now = self.time.now();
        let fired = |d: &Deferred| match d.trigger {
            Trigger::Polls(n) | Trigger::Mmio(n) => n == 0,
            Trigger::At(t) => now >= t,
            Trigger::Manual => false,
        };
        if !st.deferred.iter().any(fired) {
            return;
        }
        let (due, keep): (Vec<Deferred>, Vec<Deferred>) = st.deferred.drain(..).partition(fired);
        st.deferred = keep;
        self.deferred_changed(st);
        for d in due {
            self.write_completion(st, &d.done);
        }
    }

    /// The device thread.
    #[cfg(feature = "std")]
    fn run(self: Arc<Self>) {
        /// Idle spins before the thread starts yielding the CPU between checks.
        const SPINS: u32 = 1 << 14;
        let pending = &self.bell.0.pending;
        let mut idle = 0u32;
        while !self.stop.load(Ordering::Acquire) {
            // Load first: a swap on every idle spin would take the line from the host each time.
            if pending.load(Ordering::Acquire) != 0 {
                let bits = pending.swap(0, Ordering::AcqRel);
                let mut st = self.lock();
                self.doorbell(&mut st, bits);
                idle = 0;
                continue;
            }
            if self.timed.load(Ordering::Acquire) {
                let mut st = self.lock();
                self.complete_due(&mut st);
            }
            idle = idle.saturating_add(1);
            if idle < SPINS {
                core::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    fn device_fault(&self, st: &mut State, fault: Fault) {
        match fault {
            Fault::SurpriseRemoval => {
                self.removed.store(true, Ordering::Release);
                st.deferred.clear();
                self.deferred_changed(st);
                st.dead = true;
            }
            Fault::StuckInitializing => {
                st.stuck_initializing = true;
                st.bar.set_initializing(true);
            }
            Fault::Health { syndrome, ext_syndrome } => {
                st.bar.raise_health(syndrome, ext_syndrome);
                st.dead = true;
            }
            Fault::NicInterface(mode) => st.bar.set_nic_interface(mode),
            _ => st.faults.arm(fault, When::Next),
        }
    }

    /// Whether commands can complete at all.
    fn accepting(&self, st: &mut State) -> bool {
        !st.dead && !self.removed.load(Ordering::Acquire) && st.bar.nic_interface() == NicInterface::FULL_DRIVER
    }

    /// Handles the doorbell bits `bits`.
    fn doorbell(&self, st: &mut State, bits: u32) {
        let slots = 1u64 << self.cfg.log_cmdq_size.min(32);
        let mut rest = bits;
        while rest != 0 {
            let slot = rest.trailing_zeros();
            rest &= rest - 1;
            let initializing = st.bar.seg().initializing();
            if u64::from(slot) >= slots || initializing || st.cmdq.is_none() || !self.accepting(st) {
                st.stats.ignored_doorbells += 1;
                continue;
            }
            self.process_slot(st, slot);
        }
    }

    fn process_slot(&self, st: &mut State, slot: u32) {
        let Some(base) = st.cmdq else { return };
        let entry_addr = base.wrapping_add(u64::from(slot) << self.cfg.log_cmdq_stride);
        let mut ent = CmdQueueEntry::new();
        if st.dma.read(entry_addr, &mut ent.0).is_err() {
            st.stats.dma_faults += 1;
            return;
        }
        if !ent.ownership() {
            st.stats.spurious_doorbells += 1;
            return;
        }
        let hdr = MboxInHdr(*ent.command_input_inline_data_bytes());
        let faults = st.faults.take_for(hdr.opcode());
        for f in faults.iter().filter(|f| !f.is_command_fault()) {
            self.device_fault(st, *f);
        }
        if !self.accepting(st) {
            return;
        }
        let mut rec = CommandRecord {
            slot,
            opcode: hdr.opcode(),
            op_mod: hdr.op_mod(),
            uid: hdr.uid(),
            token: ent.token(),
            input_length: ent.input_length(),
            output_length: ent.output_length(),
            delivery: DeliveryStatus::OK,
            status: CmdStatus::OK,
            syndrome: 0,
        };
        let token = ent.token();
        let index = command_index(rec.opcode);
        // The reusable buffers (given back below, or kept by a held-back completion).
        let mut input = core::mem::take(&mut st.input);
        let mut output = core::mem::take(&mut st.output);
        let mut blocks = core::mem::take(&mut st.out_blocks);
        output.clear();
        let checksums = st.fw.checksums_enabled();
        let delivered = check_type(&ent)
            .and_then(|()| if entry_signature_ok(&ent) { Ok(()) } else { Err(DeliveryStatus::SIGNATURE_ERROR) })
            .and_then(|()| {
                if faults.contains(&Fault::BadOutputLength) {
                    Err(DeliveryStatus::OUT_LENGTH_ERROR)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| fetch(&mut st.dma, &ent, checksums, &mut input, &mut blocks));
        let mut status = match delivered {
            Err(ds) => {
                st.stats.delivery_errors += 1;
                rec.delivery = ds;
                blocks.clear();
                ds
            }
            Ok(in_len) => {
                let out_len = ent.output_length() as usize;
                let injected = faults.iter().find_map(|f| match f {
                    Fault::FwStatus { status, syndrome } => Some(fail(*status, *syndrome)),
                    _ => None,
                });
                match injected {
                    Some(fl) => output.extend_from_slice(&failure_output(fl).0),
                    None => st.fw.execute(&self.bus, index, input.get(..in_len).unwrap_or(&[]), out_len, &mut output),
                }
                // The output is `out_len` bytes: cut here, zero-padded where it is placed.
                output.truncate(out_len);
                let mut h = MboxOutHdr::new();
                let n = output.len().min(MboxOutHdr::SIZE);
                if let (Some(d), Some(s)) = (h.0.get_mut(..n), output.get(..n)) {
                    d.copy_from_slice(s);
                }
                rec.status = h.status();
                rec.syndrome = h.syndrome();
                st.stats.commands += 1;
                st.stats.count(index, rec.opcode);
                place_inline_output(&mut ent, &output);
                DeliveryStatus::OK
            }
        };
        st.input = input;
        st.stats.last = Some(rec);

        let mut block_faults = BlockFaults::default();
        for f in &faults {
            match f {
                Fault::WrongDeliveryStatus(ds) => status = *ds,
                Fault::CorruptToken => {
                    ent.set_token(!token);
                    block_faults.flip_token = true;
                }
                Fault::CorruptOutputBlockNumber => {
                    block_faults.first_number_add = block_faults.first_number_add.wrapping_add(0x55);
                }
                _ => {}
            }
        }
        ent.set_status(status);
        ent.set_ownership(false);
        sign_entry(&mut ent);
        for f in &faults {
            match f {
                Fault::CorruptEntrySignature => ent.set_signature(ent.signature() ^ 0x5a),
                Fault::CorruptOutputSignature => block_faults.first_signature_xor ^= 0x5a,
                _ => {}
            }
        }
        let done = Completion { entry_addr, entry: ent, output, blocks, token, block_faults };
        let trigger = faults.iter().find_map(|f| match f {
            Fault::NoCompletion => Some(None),
            Fault::Delayed(Delay::Polls(n)) => Some(Some(Trigger::Polls(*n))),
            Fault::Delayed(Delay::Time(d)) => Some(Some(Trigger::At(self.time.after(*d)))),
            Fault::Late(LateTrigger::MmioAccesses(n)) => Some(Some(Trigger::Mmio(*n))),
            Fault::Late(LateTrigger::Manual) => Some(Some(Trigger::Manual)),
            _ => None,
        });
        match trigger {
            Some(Some(trigger)) => {
                st.deferred.push(Deferred { done, trigger });
                self.deferred_changed(st);
            }
            written => {
                if written.is_none() {
                    self.write_completion(st, &done);
                }
                st.output = done.output;
                st.out_blocks = done.blocks;
            }
        }
    }

    /// Writes the output blocks, then the entry, its status/ownership byte last.
    ///
    /// A device's DMA writes arrive in order (PCIe posted writes), and the model stores a write's bytes in
    /// ascending address order (`Release` word stores): one write of the whole entry publishes the
    /// ownership byte, its last byte, after everything else.
    fn write_completion(&self, st: &mut State, c: &Completion) {
        if self.removed.load(Ordering::Acquire) {
            return;
        }
        if !c.blocks.is_empty() {
            st.stats.dma_faults += write_out_blocks(&mut st.dma, &c.blocks, &c.output, c.token, c.block_faults);
        }
        const _: () = assert!(queue::STATUS_OWN_BYTE == CmdQueueEntry::SIZE - 1, "the status byte is the entry's last");
        if st.dma.write(c.entry_addr, c.entry.as_array()).is_err() {
            st.stats.dma_faults += 1;
        }
    }
}
