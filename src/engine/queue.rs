//! The command queue: bring-up, slots, submission, polling, timeouts and health (PRM "Command Interface";
//! kernel `cmd.c`).

use core::sync::atomic::{fence, Ordering};

use zerocopy::{FromBytes, IntoBytes};

use crate::command::Command;
use crate::host::{Clock, DmaMemory, Mmio};
use crate::layout::Layout;
use crate::prm::{CmdQueueEntry, CmdStatus, CmdXport, DeliveryStatus, InitialSeg, MboxInHdr, MboxOutHdr, Opcode};

use super::error::{CmdId, DeadReason, Error};
use super::iseg::{HealthReport, Iseg};
use super::mailbox::{blocks_for, Chain, ChainError, MailboxPool, Parts, PartsMut, INLINE_BYTES};
use super::signature;
use super::stats::{StatSlot, Stats};
use super::token::Tokens;
use super::wait::Deadline;

/// The command-interface revision this engine speaks.
pub const CMDIF_REV: u16 = 5;
/// The most slots a queue has (`MLX5_MAX_COMMANDS`).
pub const MAX_SLOTS: usize = 32;
/// Size and alignment of the command queue page.
pub const QUEUE_PAGE: usize = 4096;
/// How many polls of one command pass between two looks at the device's health while waiting.
const HEALTH_EVERY_POLLS: u32 = 4096;
/// While spinning (`poll_delay_us == 0`), how many polls pass between two looks at the clock for the
/// command's deadline (a poll with a delay always looks: the delay costs more than the clock).
const SPIN_POLLS_PER_CLOCK: u32 = 64;
/// Default command timeout when firmware advertises none (`lib/tout.c` CMD: 60 s).
pub const DEFAULT_CMD_TIMEOUT_US: u64 = 60_000_000;
/// Default budget for firmware to leave `initializing` after power-on (`FW_PRE_INIT_TIMEOUT`: 120 s).
pub const DEFAULT_PRE_INIT_TIMEOUT_US: u64 = 120_000_000;
/// Default budget for `initializing` after the queue address is written (`FW_INIT`: 2 s).
pub const DEFAULT_INIT_TIMEOUT_US: u64 = 2_000_000;

const _: () = assert!(INLINE_BYTES == MboxInHdr::SIZE, "the inline bytes are exactly the command header");
const ENTRY_BYTES: usize = CmdQueueEntry::SIZE;
const STATUS_OWN_BYTE: usize = CmdQueueEntry::FIELD_OWNERSHIP.offset / 8;
const IN_MAILBOX_SHIFT: u32 = 32 - CmdQueueEntry::FIELD_INPUT_MAILBOX_POINTER_31_9.width as u32;

/// How the engine behaves; every field has a sensible default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// Sign input mailbox blocks and verify the signatures of completed entries and output blocks.
    /// Linux turns checksums off (`cmdif_checksum = 0`); the entry signature is always written.
    pub checksums: bool,
    /// Microseconds to wait between two polls of an ownership bit (0 = spin).
    pub poll_delay_us: u32,
    /// Command timeout; `None` uses what firmware advertises in `cmd_exec_to`, or 60 s.
    pub cmd_timeout_us: Option<u64>,
    /// Budget for `initializing` to clear after power-on.
    pub pre_init_timeout_us: u64,
    /// Budget for `initializing` to clear after the queue address is written, when firmware does not
    /// advertise `cmd_q_init_to`.
    pub init_timeout_us: u64,
    /// Keep the last slot for MANAGE_PAGES, as Linux does, so page requests always find a slot.
    pub reserve_pages_slot: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            checksums: false,
            poll_delay_us: 1,
            cmd_timeout_us: None,
            pre_init_timeout_us: DEFAULT_PRE_INIT_TIMEOUT_US,
            init_timeout_us: DEFAULT_INIT_TIMEOUT_US,
            reserve_pages_slot: true,
        }
    }
}

/// Per-command options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Timeout of this command in microseconds, instead of the queue's.
    pub timeout_us: Option<u64>,
}

/// A command in flight, as returned by [`Cmdq::submit_raw`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ticket {
    slot: u8,
    token: u8,
}

impl Ticket {
    /// The queue slot the command occupies.
    pub fn slot(&self) -> u8 {
        self.slot
    }

    /// The command's token.
    pub fn token(&self) -> u8 {
        self.token
    }
}

/// A command that firmware executed: its status and how much output was copied.
///
/// A non-OK `status` is still a completion (the output is valid and holds the syndrome), which is what
/// fwctl-style RPC returns to its caller; [`RawCompletion::check`] turns it into an [`Error::Firmware`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RawCompletion {
    /// The command.
    pub cmd: CmdId,
    /// Firmware status (`mbox_out.status`).
    pub status: CmdStatus,
    /// Firmware syndrome (`mbox_out.syndrome`).
    pub syndrome: u32,
    /// Output bytes copied to the caller.
    pub len: usize,
    /// Microseconds from doorbell to completion, when the host has a clock.
    ///
    /// The blocking calls ([`Cmdq::execute`] and friends) start timing at their first poll, right after
    /// the doorbell, and read the clock only if that poll finds the command still running: a command
    /// already complete then (as with a device that executes in the doorbell write) counts as 0 µs.
    pub latency_us: Option<u64>,
}

impl RawCompletion {
    /// `Ok` when firmware reported success, else [`Error::Firmware`].
    pub fn check(self) -> Result<Self, Error> {
        if self.status == CmdStatus::OK {
            Ok(self)
        } else {
            Err(Error::Firmware { cmd: self.cmd, status: self.status, syndrome: self.syndrome })
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    cmd: CmdId,
    /// Where the command is counted in [`Stats`].
    stat: StatSlot,
    token: u8,
    in_chain: Chain,
    out_chain: Chain,
    out_len: usize,
    deadline: Deadline,
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Free,
    Busy(InFlight),
    /// Timed out: firmware may still write the entry and its mailboxes, so nothing is reused until the
    /// ownership bit comes back.
    Quarantined(InFlight),
}

/// The command queue geometry firmware reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Geometry {
    /// Number of slots.
    pub slots: u8,
    /// Bytes between entries.
    pub stride: u16,
}

/// Firmware revision from the initialization segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FwVersion {
    /// Major.
    pub major: u16,
    /// Minor.
    pub minor: u16,
    /// Sub-minor.
    pub subminor: u16,
}

impl core::fmt::Display for FwVersion {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.subminor)
    }
}

/// A polling command queue over host-lent BAR0 access `M`, clock `C`, queue page `Q` and mailbox pool `P`.
///
/// Owns no memory and no time source: everything is lent at [`Cmdq::new`] and given back by
/// [`Cmdq::into_parts`]. Never panics on device input; every wait is bounded.
pub struct Cmdq<M: Mmio, C: Clock, Q: DmaMemory, P: DmaMemory> {
    mmio: M,
    clock: C,
    queue: Q,
    pool: MailboxPool<P>,
    cfg: Config,
    geometry: Geometry,
    fw: FwVersion,
    cmd_timeout_us: u64,
    slots: [Slot; MAX_SLOTS],
    tokens: Tokens,
    dead: Option<DeadReason>,
    stats: Stats,
    uid: u16,
    last_health_counter: Option<u32>,
    counter_misses: u8,
    /// Bit `i` set when slot `i` is quarantined (mirrors `slots`, so that submitting need not look at
    /// every slot for late completions).
    quarantined_mask: u32,
    /// Bit `i` set when slot `i` is not free (mirrors `slots`, so that finding a free slot is one
    /// instruction).
    busy_mask: u32,
    /// Whether the host's clock gives readings (probed once at [`Cmdq::new`]).
    has_clock: bool,
}

fn cmd_of(inline: &[u8; INLINE_BYTES]) -> CmdId {
    let hdr = MboxInHdr::read_from_bytes(inline).unwrap_or(MboxInHdr::ZERO);
    CmdId { opcode: Opcode(hdr.opcode()), op_mod: hdr.op_mod() }
}

impl<M: Mmio, C: Clock, Q: DmaMemory, P: DmaMemory> Cmdq<M, C, Q, P> {
    /// Brings the command queue up.
    ///
    /// Waits (bounded) for firmware to leave `initializing`, checks the command-interface revision (5)
    /// and the queue geometry, programs the queue address, and waits again; then reads the command
    /// timeout firmware advertises.
    ///
    /// # Errors
    /// [`Error::DeviceDead`] when BAR0 reads all ones; [`Error::InitTimeout`];
    /// [`Error::UnsupportedCmdifRev`]; [`Error::BadQueueGeometry`]; [`Error::BadHostMemory`] when the
    /// queue page is not 4 KiB (aligned) or the pool not 1 KiB aligned.
    pub fn new(mmio: M, clock: C, queue: Q, pool: P, cfg: Config) -> Result<Self, Error> {
        if !queue.bus_addr().is_multiple_of(QUEUE_PAGE as u64) || queue.len() < QUEUE_PAGE {
            return Err(Error::BadHostMemory {
                what: "command queue page",
                align: QUEUE_PAGE as u64,
                min_len: QUEUE_PAGE,
            });
        }
        let pool = MailboxPool::new(pool).map_err(|_| Error::BadHostMemory {
            what: "mailbox pool",
            align: super::mailbox::BLOCK_STRIDE as u64,
            min_len: 0,
        })?;
        let iseg = Iseg::new(&mmio);
        if iseg.all_ones() {
            return Err(Error::DeviceDead(DeadReason::SurpriseRemoval));
        }
        wait_initializing(&iseg, &clock, cfg.pre_init_timeout_us, cfg.poll_delay_us)?;
        let rev = iseg.read(&InitialSeg::FIELD_CMD_INTERFACE_REV) as u16;
        if rev != CMDIF_REV {
            return Err(Error::UnsupportedCmdifRev(rev));
        }
        let fw = FwVersion {
            major: iseg.read(&InitialSeg::FIELD_FW_REV_MAJOR) as u16,
            minor: iseg.read(&InitialSeg::FIELD_FW_REV_MINOR) as u16,
            subminor: iseg.read(&InitialSeg::FIELD_FW_REV_SUBMINOR) as u16,
        };
        let log_size = iseg.read(&InitialSeg::FIELD_LOG_CMDQ_SIZE) as u8;
        let log_stride = iseg.read(&InitialSeg::FIELD_LOG_CMDQ_STRIDE) as u8;
        let slots = 1usize << log_size;
        let stride = 1usize << log_stride;
        if slots > MAX_SLOTS
            || stride < ENTRY_BYTES
            || slots.saturating_mul(stride) > QUEUE_PAGE
            || (slots < 2 && cfg.reserve_pages_slot)
        {
            return Err(Error::BadQueueGeometry { log_size, log_stride });
        }
        // Hand every slot to software before firmware may look at the queue.
        let zero = [0u8; ENTRY_BYTES];
        for i in 0..slots {
            queue.write(i.saturating_mul(stride), &zero);
        }
        fence(Ordering::SeqCst);
        iseg.set_queue_address(queue.bus_addr());
        fence(Ordering::SeqCst);
        let init_budget = iseg
            .timeout_us(&InitialSeg::FIELD_CMD_Q_INIT_TO_MULTIPLIER, &InitialSeg::FIELD_CMD_Q_INIT_TO_VALUE)
            .unwrap_or(cfg.init_timeout_us);
        wait_initializing(&iseg, &clock, init_budget, cfg.poll_delay_us)?;
        let has_clock = clock.now_us().is_some();
        let cmd_timeout_us = cfg.cmd_timeout_us.unwrap_or_else(|| {
            iseg.timeout_us(&InitialSeg::FIELD_CMD_EXEC_TO_MULTIPLIER, &InitialSeg::FIELD_CMD_EXEC_TO_VALUE)
                .unwrap_or(DEFAULT_CMD_TIMEOUT_US)
        });
        Ok(Cmdq {
            mmio,
            clock,
            queue,
            pool,
            cfg,
            geometry: Geometry { slots: slots as u8, stride: stride as u16 },
            fw,
            cmd_timeout_us,
            slots: [Slot::Free; MAX_SLOTS],
            tokens: Tokens::default(),
            dead: None,
            stats: Stats::default(),
            uid: 0,
            last_health_counter: None,
            counter_misses: 0,
            quarantined_mask: 0,
            busy_mask: 0,
            has_clock,
        })
    }

    /// The queue geometry firmware reported.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Firmware version from the initialization segment.
    pub fn fw_version(&self) -> FwVersion {
        self.fw
    }

    /// The command timeout in force (microseconds).
    pub fn cmd_timeout_us(&self) -> u64 {
        self.cmd_timeout_us
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Per-opcode statistics.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The host's BAR0 access.
    pub fn mmio(&self) -> &M {
        &self.mmio
    }

    /// The host's clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Why the device is considered dead, if it is.
    pub fn dead(&self) -> Option<DeadReason> {
        self.dead
    }

    /// Stamps `uid` into the uid field of every command from now on (0 = none), as fwctl does with the
    /// user context of a session.
    pub fn set_uid(&mut self, uid: u16) {
        self.uid = uid;
    }

    /// The uid stamped into commands.
    pub fn uid(&self) -> u16 {
        self.uid
    }

    /// Number of commands in flight (quarantined ones included).
    pub fn in_flight(&self) -> usize {
        self.slots.iter().filter(|s| !matches!(s, Slot::Free)).count()
    }

    /// Number of slots quarantined after a timeout.
    pub fn quarantined(&self) -> usize {
        self.slots.iter().filter(|s| matches!(s, Slot::Quarantined(_))).count()
    }

    /// Free blocks in the mailbox pool.
    pub fn free_mailboxes(&self) -> usize {
        self.pool.free_blocks()
    }

    /// Reads the health buffer; a fatal finding marks the device dead. Called now and then (Linux polls
    /// every 2 s), it also notices a health counter that stopped advancing.
    pub fn health(&mut self) -> HealthReport {
        let mut report = Iseg::new(&self.mmio).health();
        if self.last_health_counter == Some(report.health_counter) {
            self.counter_misses = self.counter_misses.saturating_add(1);
        } else {
            self.counter_misses = 0;
        }
        self.last_health_counter = Some(report.health_counter);
        report.counter_misses = self.counter_misses;
        if let Some(r) = report.fatal {
            self.mark_dead(r);
        }
        report
    }

    fn mark_dead(&mut self, r: DeadReason) {
        if self.dead.is_none() {
            #[cfg(feature = "defmt")]
            defmt::error!("mlx5 command queue: device dead: {}", r);
            self.dead = Some(r);
        }
    }

    /// Gives back what the host lent. Call it only once firmware no longer uses the queue (after
    /// DISABLE_HCA, or when the device is dead).
    pub fn into_parts(self) -> (M, C, Q, P) {
        (self.mmio, self.clock, self.queue, self.pool.into_inner())
    }

    fn slot_offset(&self, slot: usize) -> usize {
        slot.saturating_mul(usize::from(self.geometry.stride))
    }

    fn read_status_own(&self, slot: usize) -> u8 {
        let mut b = [0u8; 1];
        self.queue.read(self.slot_offset(slot).saturating_add(STATUS_OWN_BYTE), &mut b);
        let [x] = b;
        x
    }

    /// Releases quarantined slots whose late completion has arrived (their output is discarded).
    pub fn reap(&mut self) {
        let mut pending = self.quarantined_mask;
        while pending != 0 {
            let i = pending.trailing_zeros() as usize;
            pending &= pending.wrapping_sub(1); // clears bit `i` (`pending` is not 0)
            if let Some(Slot::Quarantined(f)) = self.slots.get(i).copied() {
                let entry_owner_fw = self.read_status_own(i) & 1 != 0;
                if !entry_owner_fw {
                    #[cfg(feature = "defmt")]
                    defmt::warn!("mlx5 command queue: late completion of slot {} discarded", i);
                    self.pool.release(f.in_chain);
                    self.pool.release(f.out_chain);
                    self.stats.late_completions = self.stats.late_completions.saturating_add(1);
                    self.set_slot(i, Slot::Free);
                }
            }
        }
    }

    /// Changes the state of slot `i`, keeping the quarantine mask in step.
    fn set_slot(&mut self, i: usize, state: Slot) {
        if let Some(s) = self.slots.get_mut(i) {
            *s = state;
            let bit = 1u32 << (i % MAX_SLOTS);
            if matches!(state, Slot::Quarantined(_)) {
                self.quarantined_mask |= bit;
            } else {
                self.quarantined_mask &= !bit;
            }
            if matches!(state, Slot::Free) {
                self.busy_mask &= !bit;
            } else {
                self.busy_mask |= bit;
            }
        }
    }

    fn free_slot(&self, cmd: CmdId) -> Option<usize> {
        let n = u32::from(self.geometry.slots);
        let pages_slot = n.saturating_sub(1);
        let is_pages = cmd.opcode == Opcode::MANAGE_PAGES;
        // Slots `lo..hi` are candidates; the lowest free one is taken.
        let (lo, hi) = if !self.cfg.reserve_pages_slot {
            (0, n)
        } else if is_pages {
            (pages_slot, n)
        } else {
            (0, pages_slot)
        };
        let below_hi = u32::MAX.checked_shl(hi).map_or(u32::MAX, |above| !above);
        let from_lo = u32::MAX.checked_shl(lo).unwrap_or(0);
        let free = !self.busy_mask & below_hi & from_lo;
        (free != 0).then(|| free.trailing_zeros() as usize)
    }

    /// Submits a command without waiting: `input` (header first; `in_tail` follows it) goes to the
    /// device, and a chain for `out_len` bytes of output is prepared.
    ///
    /// # Errors
    /// [`Error::DeviceDead`] (nothing is sent); [`Error::BadLength`] for an input shorter than its
    /// 16-byte header or an output shorter than 8 bytes; [`Error::Busy`] when no slot is free;
    /// [`Error::NoMailboxes`] when the pool cannot hold the chains now.
    pub fn submit_raw(&mut self, input: &[u8], in_tail: &[u8], out_len: usize, opts: Options) -> Result<Ticket, Error> {
        let msg = Parts { head: input, tail: in_tail };
        let (inline, stat) = self.raw_inline(msg);
        // The caller may poll much later: the deadline runs from the doorbell.
        self.submit_inline(inline, msg, out_len, opts, stat, true)
    }

    /// The 16 inline bytes of a message: its header with the session uid (and, for a typed command, the
    /// opcode) stamped in.
    fn inline_of(&self, msg: Parts<'_>, opcode: Option<u16>) -> [u8; INLINE_BYTES] {
        let mut hdr = MboxInHdr::ZERO;
        msg.copy_to(0, &mut hdr.0);
        if let Some(op) = opcode {
            hdr.set_opcode(op);
        }
        if self.uid != 0 {
            hdr.set_uid(self.uid);
        }
        hdr.0
    }

    /// The inline bytes of a raw message and where its opcode is counted.
    fn raw_inline(&self, msg: Parts<'_>) -> ([u8; INLINE_BYTES], StatSlot) {
        let inline = self.inline_of(msg, None);
        (inline, StatSlot::of(cmd_of(&inline).opcode.0))
    }

    /// Submits; `stat` is where the command is counted; `eager` starts its deadline at the doorbell
    /// (else at the first poll that finds it still running, which a blocking caller makes at once).
    fn submit_inline(
        &mut self,
        inline: [u8; INLINE_BYTES],
        msg: Parts<'_>,
        out_len: usize,
        opts: Options,
        stat: StatSlot,
        eager: bool,
    ) -> Result<Ticket, Error> {
        let cmd = cmd_of(&inline);
        if let Some(r) = self.dead {
            return Err(Error::DeviceDead(r));
        }
        let in_len = msg.len();
        let (Ok(in_len32), Ok(out_len32)) = (u32::try_from(in_len), u32::try_from(out_len)) else {
            return Err(Error::BadLength { cmd, len: in_len.max(out_len) });
        };
        if in_len < INLINE_BYTES {
            return Err(Error::BadLength { cmd, len: in_len });
        }
        if out_len < MboxOutHdr::FIELD_SYNDROME.offset / 8 + 4 {
            return Err(Error::BadLength { cmd, len: out_len });
        }
        let (need_in, need_out) = (blocks_for(in_len), blocks_for(out_len));
        let needed = need_in.saturating_add(need_out);
        if needed > self.pool.capacity() {
            return Err(Error::BadLength { cmd, len: in_len.max(out_len) });
        }
        self.reap();
        let slot = self.free_slot(cmd).ok_or(Error::Busy(cmd))?;
        let in_chain = self.pool.alloc(need_in).ok_or(Error::NoMailboxes { cmd, needed })?;
        let Some(out_chain) = self.pool.alloc(need_out) else {
            self.pool.release(in_chain);
            return Err(Error::NoMailboxes { cmd, needed });
        };
        let token = self.tokens.next_token();
        let checksums = self.cfg.checksums;
        self.pool.write_input(in_chain, msg, token, checksums);
        self.pool.prepare_output(out_chain, token, checksums);

        let mut e = CmdQueueEntry::ZERO;
        e.set_type(CmdXport::PCI);
        e.set_input_length(in_len32);
        let in_addr = self.pool.head_addr(in_chain);
        e.set_input_mailbox_pointer_63_32((in_addr >> 32) as u32);
        e.set_input_mailbox_pointer_31_9((in_addr as u32) >> IN_MAILBOX_SHIFT);
        *e.command_input_inline_data_bytes_mut() = inline;
        let out_addr = self.pool.head_addr(out_chain);
        e.set_output_mailbox_pointer_63_32((out_addr >> 32) as u32);
        e.set_output_mailbox_pointer_31_9((out_addr as u32) >> IN_MAILBOX_SHIFT);
        e.set_output_length(out_len32);
        e.set_token(token);
        e.set_ownership(true);
        signature::sign_entry(&mut e);

        let off = self.slot_offset(slot);
        // The whole entry in one write, ownership bit included: the device looks at an entry only when its
        // doorbell rings (Linux sets `status_own` among the other fields the same way), and the doorbell
        // comes after the fence below.
        self.queue.write(off, e.as_bytes());
        // The entry and its mailboxes before the doorbell: between threads (a device model on another
        // thread) this fence orders them; towards a real device `Mmio::write32` orders its write after
        // earlier memory writes, as Linux's `writel` does.
        fence(Ordering::Release);
        let timeout = opts.timeout_us.unwrap_or(self.cmd_timeout_us);
        let deadline = if eager { Deadline::start(&self.clock, timeout) } else { Deadline::lazy(timeout) };
        self.set_slot(slot, Slot::Busy(InFlight { cmd, stat, token, in_chain, out_chain, out_len, deadline }));
        Iseg::new(&self.mmio).ring(slot as u8);
        Ok(Ticket { slot: slot as u8, token })
    }

    /// Checks a command without waiting: `Ok(None)` while firmware still owns it.
    ///
    /// On completion the output (16 inline bytes, then the mailbox chain) is copied into `out` then
    /// `out_tail`, and the slot is freed. A firmware error status is still `Ok(Some(..))`: see
    /// [`RawCompletion::check`].
    ///
    /// # Errors
    /// [`Error::UnknownTicket`]; [`Error::Timeout`] once the deadline passed (the slot is quarantined,
    /// and a late completion is never delivered); [`Error::DeviceDead`] when the timeout came from a dead
    /// device; [`Error::Delivery`]; [`Error::TokenMismatch`]; [`Error::BadSignature`];
    /// [`Error::BadMailbox`].
    pub fn poll_raw(&mut self, t: Ticket, out: &mut [u8], out_tail: &mut [u8]) -> Result<Option<RawCompletion>, Error> {
        self.poll_inner(t, out, out_tail, true)
    }

    /// One poll of a command; `look_at_clock` says whether a command still running has its deadline
    /// checked now (the blocking wait checks it only every so many spins).
    fn poll_inner(
        &mut self,
        t: Ticket,
        out: &mut [u8],
        out_tail: &mut [u8],
        look_at_clock: bool,
    ) -> Result<Option<RawCompletion>, Error> {
        let slot = usize::from(t.slot);
        let mut f = match self.slots.get(slot) {
            Some(Slot::Busy(f)) if f.token == t.token => *f,
            _ => return Err(Error::UnknownTicket),
        };
        if self.read_status_own(slot) & 1 != 0 {
            if !look_at_clock {
                return Ok(None);
            }
            let expired = f.deadline.expired(&self.clock);
            if !expired {
                // Keep the deadline (a lazy one has just started).
                self.set_slot(slot, Slot::Busy(f));
                return Ok(None);
            }
            self.set_slot(slot, Slot::Quarantined(f));
            self.stats.timeouts = self.stats.timeouts.saturating_add(1);
            self.stats.record_at(f.stat, false, Some(f.deadline.elapsed_us(&self.clock)));
            #[cfg(feature = "defmt")]
            defmt::warn!("mlx5 command queue: {} timed out; slot {} quarantined", f.cmd, slot);
            self.health();
            return Err(match self.dead {
                Some(r) => Error::DeviceDead(r),
                None => Error::Timeout { cmd: f.cmd, after_us: f.deadline.budget_us() },
            });
        }
        fence(Ordering::Acquire);
        // At most one clock reading: none for a command whose deadline never started (it was complete at
        // the first poll after the doorbell), and none on a host without a clock.
        let latency = if !self.has_clock {
            None
        } else if f.deadline.started() {
            self.clock.now_us().map(|now| f.deadline.elapsed_at(now))
        } else {
            Some(0)
        };
        let result = self.complete(slot, &f, out, out_tail);
        self.pool.release(f.in_chain);
        self.pool.release(f.out_chain);
        self.set_slot(slot, Slot::Free);
        let result = result.map(|(status, syndrome, len)| RawCompletion {
            cmd: f.cmd,
            status,
            syndrome,
            len,
            latency_us: latency,
        });
        self.stats.record_at(f.stat, matches!(result, Ok(c) if c.status == CmdStatus::OK), latency);
        result.map(Some)
    }

    fn complete(
        &self,
        slot: usize,
        f: &InFlight,
        out: &mut [u8],
        out_tail: &mut [u8],
    ) -> Result<(CmdStatus, u32, usize), Error> {
        let mut e = CmdQueueEntry::ZERO;
        self.queue.read(self.slot_offset(slot), &mut e.0);
        let cmd = f.cmd;
        if e.token() != f.token {
            return Err(Error::TokenMismatch { cmd, sent: f.token, found: e.token() });
        }
        if self.cfg.checksums && !signature::entry_ok(&e) {
            return Err(Error::BadSignature { cmd, block: None });
        }
        let status = e.status();
        if status != DeliveryStatus::OK {
            return Err(Error::Delivery { cmd, status });
        }
        let inline = e.command_output_inline_data_bytes();
        let mut dst = PartsMut { head: out, tail: out_tail };
        let want = dst.len().min(f.out_len);
        dst.copy_from(0, inline.get(..want.min(INLINE_BYTES)).unwrap_or(&[]));
        let mut limited = limit(dst, want);
        self.pool.read_output(f.out_chain, f.token, self.cfg.checksums, &mut limited).map_err(|e| match e {
            ChainError::Mailbox(b) => Error::BadMailbox { cmd, block: b },
            ChainError::Signature(b) => Error::BadSignature { cmd, block: Some(b) },
        })?;
        let hdr = MboxOutHdr::read_from_bytes(inline.as_slice()).unwrap_or(MboxOutHdr::ZERO);
        Ok((hdr.status(), hdr.syndrome(), want))
    }

    /// Waits (bounded by the command's timeout) for a submitted command to complete.
    ///
    /// # Errors
    /// As [`Cmdq::poll_raw`].
    pub fn wait_raw(&mut self, t: Ticket, out: &mut [u8], out_tail: &mut [u8]) -> Result<RawCompletion, Error> {
        let spinning = self.cfg.poll_delay_us == 0;
        let mut polls = 0u32;
        loop {
            // The first poll that finds the command running starts its deadline; after that, a spinning
            // wait looks at the clock only every SPIN_POLLS_PER_CLOCK polls.
            let look = !spinning || polls.is_multiple_of(SPIN_POLLS_PER_CLOCK);
            if let Some(c) = self.poll_inner(t, out, out_tail, look)? {
                return Ok(c);
            }
            polls = polls.wrapping_add(1);
            // Now and then, look at the device itself: a removed or failed device completes nothing,
            // and waiting out a whole command timeout for it helps nobody.
            if polls.is_multiple_of(HEALTH_EVERY_POLLS) && self.health().fatal.is_some() {
                self.quarantine(t);
                if let Some(r) = self.dead {
                    return Err(Error::DeviceDead(r));
                }
            }
            // Count the delay in the command's own deadline: on a host without a clock (UEFI) that is
            // what makes the timeout end at all.
            match self.slots.get_mut(usize::from(t.slot)) {
                Some(Slot::Busy(f)) => f.deadline.delay(&self.clock, self.cfg.poll_delay_us),
                _ => self.clock.delay_us(self.cfg.poll_delay_us),
            }
        }
    }

    fn quarantine(&mut self, t: Ticket) {
        let i = usize::from(t.slot);
        if let Some(Slot::Busy(f)) = self.slots.get(i).copied() {
            self.set_slot(i, Slot::Quarantined(f));
        }
    }

    /// Submits a command and waits for it; waits (bounded by the command timeout) for a slot first when
    /// every slot is busy.
    ///
    /// # Errors
    /// As [`Cmdq::submit_raw`] and [`Cmdq::poll_raw`]; [`Error::Busy`] only after waiting a whole timeout.
    pub fn execute_raw(&mut self, input: &[u8], output: &mut [u8], opts: Options) -> Result<RawCompletion, Error> {
        self.execute_parts(input, &[], output, &mut [], opts)
    }

    /// [`Cmdq::execute_raw`] with an input and an output that are each split in two (a fixed layout and
    /// its variable tail).
    ///
    /// # Errors
    /// As [`Cmdq::execute_raw`].
    pub fn execute_parts(
        &mut self,
        input: &[u8],
        in_tail: &[u8],
        output: &mut [u8],
        out_tail: &mut [u8],
        opts: Options,
    ) -> Result<RawCompletion, Error> {
        let out_len = output.len().saturating_add(out_tail.len());
        let msg = Parts { head: input, tail: in_tail };
        let (inline, stat) = self.raw_inline(msg);
        let t = self.submit_waiting(inline, msg, out_len, opts, stat)?;
        self.wait_raw(t, output, out_tail)
    }

    /// Submits, waiting (bounded by the command timeout) while every slot or the mailbox pool is busy.
    fn submit_waiting(
        &mut self,
        inline: [u8; INLINE_BYTES],
        msg: Parts<'_>,
        out_len: usize,
        opts: Options,
        stat: StatSlot,
    ) -> Result<Ticket, Error> {
        let mut deadline: Option<Deadline> = None;
        loop {
            match self.submit_inline(inline, msg, out_len, opts, stat, false) {
                Err(Error::Busy(cmd)) | Err(Error::NoMailboxes { cmd, .. }) => {
                    let d = deadline.get_or_insert_with(|| {
                        Deadline::start(&self.clock, opts.timeout_us.unwrap_or(self.cmd_timeout_us))
                    });
                    if d.expired(&self.clock) {
                        return Err(Error::Busy(cmd));
                    }
                    d.delay(&self.clock, self.cfg.poll_delay_us.max(1));
                }
                other => return other,
            }
        }
    }

    /// Executes a typed command: the opcode is stamped from `C`; the output is checked for a firmware
    /// error status.
    ///
    /// # Errors
    /// As [`Cmdq::execute_raw`], plus [`Error::Firmware`] for a non-OK status.
    pub fn execute<Cmd: Command>(&mut self, input: &Cmd::In) -> Result<Cmd::Out, Error> {
        let mut out = <Cmd::Out as zerocopy::FromZeros>::new_zeroed();
        self.execute_typed::<Cmd>(input, &[], &mut out, &mut [], Options::default())?;
        Ok(out)
    }

    /// Executes a typed command whose input and output have variable tails; returns the output bytes
    /// copied into `out` and `out_tail` together.
    ///
    /// # Errors
    /// As [`Cmdq::execute`].
    pub fn execute_typed<Cmd: Command>(
        &mut self,
        input: &Cmd::In,
        in_tail: &[u8],
        out: &mut Cmd::Out,
        out_tail: &mut [u8],
        opts: Options,
    ) -> Result<usize, Error> {
        let msg = Parts { head: input.as_bytes(), tail: in_tail };
        let out_len = <Cmd::Out as Layout>::SIZE.saturating_add(out_tail.len());
        // Where the command is counted, found at compile time.
        let stat = const { StatSlot::of_const(Cmd::OPCODE) };
        let t = self.submit_waiting(self.inline_of(msg, Some(Cmd::OPCODE)), msg, out_len, opts, stat)?;
        let c = self.wait_raw(t, out.as_mut_bytes(), out_tail)?.check()?;
        Ok(c.len)
    }
}

/// Caps a destination at `want` bytes.
fn limit<'a>(dst: PartsMut<'a>, want: usize) -> PartsMut<'a> {
    let PartsMut { head, tail } = dst;
    let hl = head.len().min(want);
    let (head, _) = head.split_at_mut(hl);
    let tl = tail.len().min(want.saturating_sub(hl));
    let (tail, _) = tail.split_at_mut(tl);
    PartsMut { head, tail }
}

fn wait_initializing<M: Mmio + ?Sized, C: Clock>(
    iseg: &Iseg<'_, M>,
    clock: &C,
    budget_us: u64,
    poll_us: u32,
) -> Result<(), Error> {
    let mut d = Deadline::start(clock, budget_us);
    loop {
        if iseg.all_ones() {
            return Err(Error::DeviceDead(DeadReason::SurpriseRemoval));
        }
        if !iseg.initializing() {
            return Ok(());
        }
        if d.expired(clock) {
            return Err(Error::InitTimeout { waited_us: budget_us });
        }
        d.delay(clock, poll_us.max(1));
    }
}
