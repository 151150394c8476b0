//! The command-queue engine against an ADVERSARIAL device.
//!
//! A fuzz-driven fake device implements the host traits (`Mmio`, `DmaMemory` twice, `Clock`) directly —
//! not the device model — and the fuzzer decides everything it does: the initialization segment (revision,
//! geometry, timeouts, `initializing` and for how many polls), the host memory it is lent (sizes and
//! alignments), and, command by command, when it answers (after how many polls of the ownership byte, or
//! never) and what it writes back: ownership, delivery status, token, entry signature, output inline
//! bytes, every output mailbox block (data, block number, token, next pointer, signatures), plus stray
//! writes anywhere in the queue page and the pool, health-buffer changes and surprise removal.
//!
//! Structure-aware, like rust-vmm virtio-queue's fuzzing: the input decodes (with `arbitrary`) into a
//! setup and a sequence of operations — submit raw, poll, wait, execute raw or typed, register and
//! capability access, HCA bring-up and teardown, health, reap, uid, device actions.
//!
//! Invariants checked after every operation:
//! - nothing panics (arithmetic overflow checks are on in the fuzz profile);
//! - every engine call returns within a bounded number of host accesses (the fake clock advances on each
//!   read, so every timeout ends quickly);
//! - what the engine hands the device is well formed: the entry is owned, signed, has a non-zero token,
//!   its input chain lies in the pool with block numbers 0.., the entry's token, linked next pointers
//!   and (with checksums) valid signatures, and carries exactly the bytes submitted;
//! - a completion is consistent with what the device wrote: a wrong token is `TokenMismatch`, a bad
//!   delivery status is `Delivery`, a bad block is `BadMailbox`/`BadSignature` naming a faulty block; an
//!   `Ok` carries the device's status, syndrome and output bytes, and no byte past the reported length of
//!   the caller's buffers is touched;
//! - a ticket that timed out (quarantined slot) never delivers, whatever the device does later;
//! - when every ticket is resolved and nothing is quarantined, the pool's free-block count is full again.
#![no_main]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mlx5_cmdif::engine::hca::{self, BringUp};
use mlx5_cmdif::engine::iseg::{dword_of, from_bus, to_bus};
use mlx5_cmdif::engine::mailbox::{blocks_for, BLOCK_DATA, BLOCK_STRIDE, INLINE_BYTES};
use mlx5_cmdif::engine::signature;
use mlx5_cmdif::engine::{Cmdq, Config, Error, Options, Ticket};
use mlx5_cmdif::host::{Clock, DmaMemory, Mmio, PageProvider, FW_PAGE_SIZE};
use mlx5_cmdif::prm::{
    CmdHcaCap, CmdIfBox, CmdQueueEntry, DeliveryStatus, HealthBuffer, HealthSyndrome, InitialSeg, MboxOutHdr, Nop,
    NopIn, PaosReg, QueryAdapter, QueryAdapterIn,
};

/// Most host accesses (clock reads, delays, register and memory accesses) one engine call may make.
/// Budgets are scaled (see `Setup::tick`) so that a full timeout is at most ~20 000 polls.
const MAX_ACCESSES_PER_CALL: u64 = 2_000_000;
/// Polls of one wait, at most, once budgets are scaled.
const POLLS_PER_BUDGET: u64 = 10_000;
/// Largest budget the fuzzer picks directly (µs).
const MAX_FUZZ_BUDGET: u64 = 2_000_000;

const QUEUE_BUS: u64 = 0x1_0000_0000;
const POOL_BUS: u64 = 0x2_0000_0000;
const BAR_LEN: usize = InitialSeg::SIZE + 4;

// ------------------------------------------------------------------------------------------------
// The input.

#[derive(Arbitrary, Debug, Clone)]
struct Setup {
    /// `cmd_interface_rev`; `None` is the right one (5).
    rev: Option<u16>,
    /// `(log_cmdq_size, log_cmdq_stride)` (4 bits each); `None` is 32 slots of 64 bytes.
    geometry: Option<(u8, u8)>,
    /// Polls of `initializing` before it clears at power-on; 255 = never.
    init_polls: u8,
    /// Polls of `initializing` before it clears once the queue address is written; 255 = never.
    init2_polls: u8,
    /// `cmd_exec_to` and `cmd_q_init_to` (multiplier, value) advertised in the segment.
    exec_to: Option<(u8, u32)>,
    q_init_to: Option<(u8, u32)>,
    /// Config.
    checksums: bool,
    reserve_pages_slot: bool,
    poll_delay_us: u8,
    cmd_timeout_us: Option<u32>,
    pre_init_timeout_us: u32,
    init_timeout_us: u32,
    /// The host has no monotonic clock (UEFI): budgets are counted in delays.
    clockless: bool,
    /// µs the clock advances on each read (scaled up so budgets end quickly).
    tick: u16,
    /// Host memory: queue page length and alignment, pool blocks, extra bytes and alignment.
    queue_short: bool,
    queue_misaligned: bool,
    pool_blocks: u8,
    pool_extra: u16,
    pool_misaligned: bool,
    /// Pages the host's page provider has.
    host_pages: u8,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum BlockFault {
    Number(u32),
    Token(u8),
    BadSignature,
    NextPointer(u64),
    /// The device never writes this block (it keeps what the engine prepared: zero data).
    Skip,
}

/// How the device answers one command (taken in order from a script; a default answer when empty).
#[derive(Arbitrary, Debug, Clone)]
struct Answer {
    /// Polls of the ownership byte before answering; 255 = never answers by itself.
    after_polls: u8,
    /// Clear the ownership bit (false: write everything but keep the entry owned — a stuck device).
    release: bool,
    /// Delivery status (7 bits); 0 is OK.
    delivery: u8,
    /// Token to write instead of the right one.
    token: Option<u8>,
    /// Write a wrong entry signature.
    bad_entry_signature: bool,
    /// mbox_out status and syndrome (the rest of the inline output follows).
    status: u8,
    syndrome: u32,
    /// Seed of the output bytes.
    seed: u8,
    /// A fault in one output block.
    block_fault: Option<(u8, BlockFault)>,
    /// Sign output blocks (a device that ignores checksums does not).
    sign_blocks: bool,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Typed {
    Nop,
    QueryAdapter,
    QueryCap { current: bool },
    ReadPaos { port: u8 },
    WritePaos { port: u8, admin: u8 },
    BringUp,
    Teardown,
}

#[derive(Arbitrary, Debug, Clone)]
enum Op {
    Submit { opcode: u16, len: u16, tail: u16, out_len: u16, timeout: Option<u32> },
    Poll { ticket: u8, head: u16, tail: u16 },
    Wait { ticket: u8, head: u16, tail: u16 },
    Execute { opcode: u16, len: u16, tail: u16, out_head: u16, out_tail: u16, timeout: Option<u32> },
    Typed(Typed),
    Script(Answer),
    AnswerNow { slot: u8 },
    PokeIseg { dword: u16, value: u32 },
    Health { synd: u8, rfr: bool, counter: Option<u32>, nic_interface: Option<u8> },
    Scribble { pool: bool, offset: u16, bytes: Vec<u8> },
    Remove,
    CheckHealth,
    Reap,
    SetUid(u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    setup: Setup,
    script: Vec<Answer>,
    ops: Vec<Op>,
}

// ------------------------------------------------------------------------------------------------
// The device.

/// What the device knows of a slot the engine rang.
#[derive(Clone)]
struct Pending {
    countdown: u32,
    answer: Answer,
}

/// The answer a completion must be checked against.
#[derive(Clone, Debug)]
struct Answered {
    token_ok: bool,
    entry_sig_ok: bool,
    delivery: u8,
    status: u8,
    syndrome: u32,
    /// The output bytes the device wrote (inline, then block data), `output_length` of them.
    output: Vec<u8>,
    /// Blocks with a control fault the engine must notice, and whether only with checksums.
    faulty_blocks: Vec<(u32, bool)>,
    released: bool,
}

struct Device {
    bar: RefCell<Vec<u8>>,
    removed: Cell<bool>,
    queue: RefCell<Vec<u8>>,
    queue_bus: u64,
    pool: RefCell<Vec<u8>>,
    pool_bus: u64,
    stride: usize,
    slots: usize,
    checksums: bool,
    now: Cell<u64>,
    tick: Cell<u64>,
    clockless: bool,
    accesses: Cell<u64>,
    /// Most accesses the current engine call may make.
    limit: Cell<u64>,
    /// A stray write (scribble) happened: answers can no longer be predicted.
    tainted: Cell<bool>,
    init_polls: Cell<u32>,
    init2_polls: Cell<u32>,
    address_written: Cell<bool>,
    script: RefCell<VecDeque<Answer>>,
    pending: RefCell<Vec<Option<Pending>>>,
    answered: RefCell<Vec<Option<Answered>>>,
    /// The input the engine must hand over for the next doorbell: (bytes, compare the header too).
    expect_input: RefCell<Option<(Vec<u8>, bool)>>,
}

fn field_set(buf: &mut [u8], f: &mlx5_cmdif::layout::FieldDesc, v: u64) {
    let _ = f.write(buf, 0, v);
}

impl Device {
    fn touch(&self) {
        let n = self.accesses.get() + 1;
        self.accesses.set(n);
        assert!(n <= self.limit.get(), "an engine call did not return within its bounded budget");
    }

    fn iseg_set(&self, f: &mlx5_cmdif::layout::FieldDesc, v: u64) {
        field_set(&mut self.bar.borrow_mut(), f, v);
    }

    fn doorbell(&self, vector: u32) {
        for slot in 0..32 {
            if vector & (1 << slot) != 0 {
                self.accept(slot);
            }
        }
    }

    fn entry(&self, slot: usize) -> CmdQueueEntry {
        let mut e = CmdQueueEntry::ZERO;
        let q = self.queue.borrow();
        if let Some(b) = q.get(slot * self.stride..slot * self.stride + 64) {
            e.0.copy_from_slice(b);
        }
        e
    }

    fn pool_index(&self, addr: u64) -> Option<usize> {
        let off = addr.checked_sub(self.pool_bus)? as usize;
        (off % BLOCK_STRIDE == 0 && off + CmdIfBox::SIZE <= self.pool.borrow().len()).then_some(off)
    }

    fn block(&self, off: usize) -> CmdIfBox {
        let mut b = CmdIfBox::ZERO;
        b.0.copy_from_slice(&self.pool.borrow()[off..off + CmdIfBox::SIZE]);
        b
    }

    /// A doorbell for `slot`: check what the engine handed over, then schedule the answer.
    fn accept(&self, slot: usize) {
        assert!(slot < self.slots, "doorbell for slot {slot} of a {}-slot queue", self.slots);
        let e = self.entry(slot);
        assert!(e.ownership(), "doorbell for an entry the engine did not hand over");
        assert_ne!(e.token(), 0, "token 0");
        assert!(signature::entry_ok(&e), "the entry signature is always written");
        assert!(self.tainted.get() || self.pending.borrow()[slot].is_none(), "slot {slot} rung twice");
        // Walk the input chain.
        let len = e.input_length() as usize;
        let mut input = e.command_input_inline_data_bytes().to_vec();
        let mut addr =
            (u64::from(e.input_mailbox_pointer_63_32()) << 32) | u64::from(e.input_mailbox_pointer_31_9() << 9);
        let blocks = blocks_for(len);
        for n in 0..blocks {
            let off =
                self.pool_index(addr).unwrap_or_else(|| panic!("input block {n} at {addr:#x} is not in the pool"));
            let b = self.block(off);
            assert_eq!(b.block_number(), n as u32, "input block number");
            assert_eq!(b.token(), e.token(), "input block token");
            if self.checksums {
                assert!(signature::block_ok(&b), "input block {n} signature");
            }
            input.extend_from_slice(b.mailbox_data_bytes());
            addr = (u64::from(b.next_pointer_63_32()) << 32) | u64::from(b.next_pointer_31_10() << 10);
            if n + 1 == blocks {
                assert_eq!(addr, 0, "the last input block links nowhere");
            }
        }
        input.truncate(len);
        if let Some((want, header)) = self.expect_input.borrow_mut().take() {
            assert_eq!(input.len(), want.len(), "input length");
            let from = if header { 0 } else { INLINE_BYTES };
            assert!(input[from..] == want[from..], "the device received other bytes than submitted");
        }
        let answer = self.script.borrow_mut().pop_front().unwrap_or(Answer {
            after_polls: 1,
            release: true,
            delivery: 0,
            token: None,
            bad_entry_signature: false,
            status: 0,
            syndrome: 0,
            seed: slot as u8,
            block_fault: None,
            sign_blocks: true,
        });
        let countdown = if answer.after_polls == 255 { u32::MAX } else { u32::from(answer.after_polls) };
        self.pending.borrow_mut()[slot] = Some(Pending { countdown, answer });
        self.answered.borrow_mut()[slot] = None;
    }

    /// The engine read the status byte of `slot`: count a poll, answer when due.
    fn polled(&self, slot: usize) {
        let due = {
            let mut p = self.pending.borrow_mut();
            match p.get_mut(slot) {
                Some(Some(pd)) if pd.countdown != u32::MAX => {
                    pd.countdown = pd.countdown.saturating_sub(1);
                    pd.countdown == 0
                }
                _ => false,
            }
        };
        if due {
            self.answer(slot);
        }
    }

    fn answer(&self, slot: usize) {
        let Some(Pending { answer: a, .. }) = self.pending.borrow_mut().get_mut(slot).and_then(Option::take) else {
            return;
        };
        let mut e = self.entry(slot);
        let token = e.token();
        let out_len = e.output_length() as usize;
        let mut output = vec![0u8; out_len.max(INLINE_BYTES)];
        for (i, b) in output.iter_mut().enumerate() {
            *b = a.seed.wrapping_add((i as u8).wrapping_mul(31)) ^ (i >> 8) as u8;
        }
        let mut hdr = MboxOutHdr::ZERO;
        hdr.set_status(mlx5_cmdif::prm::CmdStatus(a.status));
        hdr.set_syndrome(a.syndrome);
        output[..8].copy_from_slice(&hdr.0[..8]);
        let mut inline = [0u8; INLINE_BYTES];
        inline.copy_from_slice(&output[..INLINE_BYTES]);
        // Output blocks, following the chain the engine prepared.
        let mut faulty = Vec::new();
        let mut addr =
            (u64::from(e.output_mailbox_pointer_63_32()) << 32) | u64::from(e.output_mailbox_pointer_31_9() << 9);
        for n in 0..blocks_for(out_len) {
            let Some(off) = self.pool_index(addr) else { break };
            let mut b = self.block(off);
            let next = (u64::from(b.next_pointer_63_32()) << 32) | u64::from(b.next_pointer_31_10() << 10);
            let start = INLINE_BYTES + n * BLOCK_DATA;
            let fault = a.block_fault.filter(|(k, _)| usize::from(*k) == n).map(|(_, f)| f);
            if matches!(fault, Some(BlockFault::Skip)) {
                // Zero data, right control: the engine sees zeros.
                for x in output.iter_mut().skip(start).take(BLOCK_DATA) {
                    *x = 0;
                }
                addr = next;
                continue;
            }
            let mut data = [0u8; BLOCK_DATA];
            for (i, x) in data.iter_mut().enumerate() {
                *x = output.get(start + i).copied().unwrap_or(0);
            }
            b.mailbox_data_bytes_mut().copy_from_slice(&data);
            b.set_block_number(n as u32);
            b.set_token(token);
            if a.sign_blocks || self.checksums {
                signature::sign_block(&mut b);
            }
            match fault {
                Some(BlockFault::Number(x)) if x != n as u32 => {
                    b.set_block_number(x);
                    faulty.push((n as u32, false));
                }
                Some(BlockFault::Token(t)) if t != token => {
                    b.set_token(t);
                    faulty.push((n as u32, false));
                }
                Some(BlockFault::BadSignature) => {
                    b.set_signature(!b.signature());
                    faulty.push((n as u32, true));
                }
                Some(BlockFault::NextPointer(p)) => {
                    b.set_next_pointer_63_32((p >> 32) as u32);
                    b.set_next_pointer_31_10(p as u32 >> 10);
                    if a.sign_blocks || self.checksums {
                        signature::sign_block(&mut b);
                    }
                }
                _ => {}
            }
            if !(a.sign_blocks || self.checksums) && !matches!(fault, Some(BlockFault::BadSignature)) {
                // Unsigned blocks fail a checksum check.
                faulty.push((n as u32, true));
            }
            self.pool.borrow_mut()[off..off + CmdIfBox::SIZE].copy_from_slice(&b.0);
            addr = next;
        }
        *e.command_output_inline_data_bytes_mut() = inline;
        let token_ok = a.token.is_none_or(|t| t == token);
        if let Some(t) = a.token {
            e.set_token(t);
        }
        e.set_status(DeliveryStatus(a.delivery & 0x7f));
        e.set_ownership(!a.release);
        signature::sign_entry(&mut e);
        let entry_sig_ok = !a.bad_entry_signature;
        if a.bad_entry_signature {
            e.set_signature(!e.signature());
        }
        {
            let mut q = self.queue.borrow_mut();
            let base = slot * self.stride;
            q[base..base + 63].copy_from_slice(&e.0[..63]);
            q[base + 63] = e.0[63];
        }
        output.truncate(out_len);
        self.answered.borrow_mut()[slot] = Some(Answered {
            token_ok,
            entry_sig_ok,
            delivery: a.delivery & 0x7f,
            status: a.status,
            syndrome: a.syndrome,
            output,
            faulty_blocks: faulty,
            released: a.release,
        });
    }
}

struct Bar<'a>(&'a Device);
struct QueueMem<'a>(&'a Device);
struct PoolMem<'a>(&'a Device);
struct FakeClock<'a>(&'a Device);

impl Mmio for Bar<'_> {
    fn read32(&self, offset: usize) -> u32 {
        let d = self.0;
        d.touch();
        if d.removed.get() {
            return u32::MAX;
        }
        if offset == dword_of(&InitialSeg::FIELD_INITIALIZING) {
            let c = if d.address_written.get() { &d.init2_polls } else { &d.init_polls };
            if c.get() == 0 {
                d.iseg_set(&InitialSeg::FIELD_INITIALIZING, 0);
            } else if c.get() != 255 {
                c.set(c.get() - 1);
            }
        }
        let bar = d.bar.borrow();
        match bar.get(offset..offset.wrapping_add(4)) {
            Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            None => u32::MAX,
        }
    }

    fn write32(&self, offset: usize, value: u32) {
        let d = self.0;
        d.touch();
        if d.removed.get() {
            return;
        }
        if offset == dword_of(&InitialSeg::FIELD_COMMAND_DOORBELL_VECTOR) {
            d.doorbell(from_bus(value));
            return;
        }
        if offset == dword_of(&InitialSeg::FIELD_CMDQ_PHY_ADDR_31_12) {
            d.address_written.set(true);
            d.iseg_set(&InitialSeg::FIELD_INITIALIZING, 1);
        }
        let mut bar = d.bar.borrow_mut();
        if let Some(b) = bar.get_mut(offset..offset.wrapping_add(4)) {
            // Only the address dwords are writable; keep nic_interface/log sizes as the device has them.
            if offset == dword_of(&InitialSeg::FIELD_CMDQ_PHY_ADDR_63_32) {
                b.copy_from_slice(&value.to_le_bytes());
            }
        }
    }
}

impl DmaMemory for QueueMem<'_> {
    fn bus_addr(&self) -> u64 {
        self.0.queue_bus
    }
    fn len(&self) -> usize {
        self.0.queue.borrow().len()
    }
    fn read(&self, offset: usize, out: &mut [u8]) {
        let d = self.0;
        d.touch();
        if out.len() == 1 && offset % d.stride == 63 {
            d.polled(offset / d.stride);
        }
        let q = d.queue.borrow();
        match q.get(offset..offset.saturating_add(out.len())) {
            Some(s) => out.copy_from_slice(s),
            None => out.fill(0),
        }
    }
    fn write(&self, offset: usize, data: &[u8]) {
        self.0.touch();
        let mut q = self.0.queue.borrow_mut();
        if let Some(s) = q.get_mut(offset..offset.saturating_add(data.len())) {
            s.copy_from_slice(data);
        }
    }
}

impl DmaMemory for PoolMem<'_> {
    fn bus_addr(&self) -> u64 {
        self.0.pool_bus
    }
    fn len(&self) -> usize {
        self.0.pool.borrow().len()
    }
    fn read(&self, offset: usize, out: &mut [u8]) {
        self.0.touch();
        let p = self.0.pool.borrow();
        match p.get(offset..offset.saturating_add(out.len())) {
            Some(s) => out.copy_from_slice(s),
            None => out.fill(0),
        }
    }
    fn write(&self, offset: usize, data: &[u8]) {
        self.0.touch();
        let mut p = self.0.pool.borrow_mut();
        if let Some(s) = p.get_mut(offset..offset.saturating_add(data.len())) {
            s.copy_from_slice(data);
        }
    }
}

impl Clock for FakeClock<'_> {
    fn now_us(&self) -> Option<u64> {
        let d = self.0;
        d.touch();
        if d.clockless {
            return None;
        }
        d.now.set(d.now.get().saturating_add(d.tick.get()));
        Some(d.now.get())
    }
    fn delay_us(&self, us: u32) {
        let d = self.0;
        d.touch();
        d.now.set(d.now.get().saturating_add(u64::from(us)));
    }
}

/// A page provider with a fixed number of pages.
struct Pages {
    cap: usize,
    out: Vec<u64>,
    next: u64,
}

impl PageProvider for Pages {
    fn alloc_page(&mut self) -> Option<u64> {
        if self.out.len() >= self.cap {
            return None;
        }
        self.next += FW_PAGE_SIZE as u64;
        self.out.push(self.next);
        Some(self.next)
    }
    fn free_page(&mut self, bus_addr: u64) -> bool {
        match self.out.iter().position(|&a| a == bus_addr) {
            Some(i) => {
                self.out.swap_remove(i);
                true
            }
            None => false,
        }
    }
    fn pages_out(&self) -> usize {
        self.out.len()
    }
}

// ------------------------------------------------------------------------------------------------
// The run.

/// Upper bound of an advertised timeout in µs (whatever the multiplier).
fn advertised_bound(to: Option<(u8, u32)>) -> u64 {
    to.map_or(0, |(_, v)| u64::from(v & 0xf_ffff).saturating_mul(3_600_000_000))
}

fn build(setup: &Setup, script: Vec<Answer>) -> Device {
    let (log_size, log_stride) = setup.geometry.map_or((5, 6), |(a, b)| (a & 0xf, b & 0xf));
    let mut bar = vec![0u8; BAR_LEN];
    field_set(&mut bar, &InitialSeg::FIELD_FW_REV_MAJOR, 22);
    field_set(&mut bar, &InitialSeg::FIELD_CMD_INTERFACE_REV, u64::from(setup.rev.unwrap_or(5)));
    field_set(&mut bar, &InitialSeg::FIELD_LOG_CMDQ_SIZE, u64::from(log_size));
    field_set(&mut bar, &InitialSeg::FIELD_LOG_CMDQ_STRIDE, u64::from(log_stride));
    field_set(&mut bar, &InitialSeg::FIELD_INITIALIZING, 1);
    if !setup.clockless {
        if let Some((m, v)) = setup.exec_to {
            field_set(&mut bar, &InitialSeg::FIELD_CMD_EXEC_TO_MULTIPLIER, u64::from(m & 7));
            field_set(&mut bar, &InitialSeg::FIELD_CMD_EXEC_TO_VALUE, u64::from(v & 0xf_ffff));
        }
        if let Some((m, v)) = setup.q_init_to {
            field_set(&mut bar, &InitialSeg::FIELD_CMD_Q_INIT_TO_MULTIPLIER, u64::from(m & 7));
            field_set(&mut bar, &InitialSeg::FIELD_CMD_Q_INIT_TO_VALUE, u64::from(v & 0xf_ffff));
        }
    }
    // A healthy, advancing-looking health buffer.
    let hb_base = InitialSeg::FIELD_HEALTH_BUFFER.offset / 8;
    let mut hb = HealthBuffer::ZERO;
    hb.set_fw_version(0x1600_0000);
    bar[hb_base..hb_base + HealthBuffer::SIZE].copy_from_slice(&hb.0);
    let stride = 1usize << log_stride;
    let slots = 1usize << log_size;
    let pool_len = usize::from(setup.pool_blocks % 65) * BLOCK_STRIDE + usize::from(setup.pool_extra % 2048);
    Device {
        bar: RefCell::new(bar),
        removed: Cell::new(false),
        queue: RefCell::new(vec![0u8; if setup.queue_short { 4095 } else { 4096 }]),
        queue_bus: QUEUE_BUS + if setup.queue_misaligned { 0x200 } else { 0 },
        pool: RefCell::new(vec![0u8; pool_len]),
        pool_bus: POOL_BUS + if setup.pool_misaligned { 0x40 } else { 0 },
        stride: stride.max(64),
        slots,
        checksums: setup.checksums,
        now: Cell::new(1),
        tick: Cell::new(1),
        clockless: setup.clockless,
        accesses: Cell::new(0),
        limit: Cell::new(MAX_ACCESSES_PER_CALL),
        tainted: Cell::new(false),
        init_polls: Cell::new(u32::from(setup.init_polls)),
        init2_polls: Cell::new(u32::from(setup.init2_polls)),
        address_written: Cell::new(false),
        script: RefCell::new(script.into()),
        pending: RefCell::new(vec![None; 32]),
        answered: RefCell::new(vec![None; 32]),
        expect_input: RefCell::new(None),
    }
}

fn message(opcode: u16, len: usize, seed: usize) -> Vec<u8> {
    let mut m: Vec<u8> = (0..len).map(|i| (i.wrapping_mul(7).wrapping_add(seed)) as u8).collect();
    if let Some(h) = m.get_mut(..4) {
        h.copy_from_slice(&[(opcode >> 8) as u8, opcode as u8, 0, 0]);
    }
    m
}

struct Run<'a> {
    dev: &'a Device,
    q: Cmdq<Bar<'a>, FakeClock<'a>, QueueMem<'a>, PoolMem<'a>>,
    /// Tickets in flight (not yet resolved by a completion or an error).
    live: Vec<Ticket>,
    /// Tickets that timed out: they must never deliver.
    dead: Vec<Ticket>,
    full_pool: usize,
    uid: u16,
    pages: Pages,
}

const CANARY: u8 = 0xa5;

impl Run<'_> {
    fn call<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        self.dev.accesses.set(0);
        self.dev.limit.set(MAX_ACCESSES_PER_CALL);
        f(self)
    }

    fn expect(&self, input: &[u8], header: bool) {
        *self.dev.expect_input.borrow_mut() = Some((input.to_vec(), header && self.uid == 0));
    }

    fn timeout(&self, t: Option<u32>) -> Options {
        Options { timeout_us: t.map(|t| u64::from(t) % MAX_FUZZ_BUDGET) }
    }

    fn ticket(&self, i: u8) -> Option<Ticket> {
        let all: Vec<Ticket> = self.live.iter().chain(self.dead.iter()).copied().collect();
        if all.is_empty() {
            None
        } else {
            Some(all[usize::from(i) % all.len()])
        }
    }

    /// Checks a finished poll or wait of ticket `t` whose output buffers were `head`/`tail`.
    fn check_completion(
        &mut self,
        t: Ticket,
        r: &Result<Option<mlx5_cmdif::engine::RawCompletion>, Error>,
        head: &[u8],
        tail: &[u8],
    ) {
        let was_dead = self.dead.contains(&t);
        if was_dead {
            assert!(matches!(r, Err(Error::UnknownTicket)), "a quarantined ticket delivered: {r:?}");
            return;
        }
        let slot = usize::from(t.slot());
        if self.dev.tainted.get() {
            // Only what holds whatever the device did.
            match r {
                Ok(None) => {}
                Ok(Some(c)) => {
                    self.live.retain(|x| *x != t);
                    let got: Vec<u8> = head.iter().chain(tail.iter()).copied().collect();
                    assert!(got[c.len..].iter().all(|&b| b == CANARY), "bytes past the reported length were written");
                }
                Err(Error::UnknownTicket) => panic!("a live ticket was unknown"),
                Err(Error::Timeout { .. } | Error::DeviceDead(_)) => {
                    self.live.retain(|x| *x != t);
                    self.dead.push(t);
                }
                Err(_) => self.live.retain(|x| *x != t),
            }
            return;
        }
        match r {
            Ok(None) => {}
            Ok(Some(c)) => {
                self.live.retain(|x| *x != t);
                let a = self.dev.answered.borrow()[slot].clone().expect("a completion the device never wrote");
                assert!(a.token_ok, "a wrong token was accepted");
                assert!(a.delivery == 0, "a bad delivery status was accepted");
                assert!(a.released);
                if self.dev.checksums {
                    assert!(a.entry_sig_ok, "a bad entry signature was accepted with checksums on");
                }
                assert_eq!(c.status.0, a.status);
                assert_eq!(c.syndrome, a.syndrome);
                let got: Vec<u8> = head.iter().chain(tail.iter()).copied().collect();
                assert!(c.len <= got.len(), "reported more output than the buffers hold");
                let n = c.len.min(a.output.len());
                assert!(got[..n] == a.output[..n], "output bytes differ from what the device wrote");
                assert!(got[c.len..].iter().all(|&b| b == CANARY), "bytes past the reported length were written");
                let needed = c.len.saturating_sub(INLINE_BYTES);
                for &(b, sig_only) in &a.faulty_blocks {
                    if !sig_only || self.dev.checksums {
                        assert!(b as usize * BLOCK_DATA >= needed, "a broken block {b} that was read went unnoticed");
                    }
                }
            }
            Err(e) => {
                let _ = format!("{e} {e:?}");
                match e {
                    Error::Timeout { .. } => {
                        self.live.retain(|x| *x != t);
                        self.dead.push(t);
                    }
                    Error::DeviceDead(_) => {
                        // A timeout on a dead device, or the device found dead while waiting: quarantined.
                        self.live.retain(|x| *x != t);
                        self.dead.push(t);
                    }
                    Error::UnknownTicket => panic!("a live ticket was unknown"),
                    Error::TokenMismatch { .. } => {
                        self.live.retain(|x| *x != t);
                        let a = self.dev.answered.borrow()[slot].clone();
                        // The device answered with a wrong token, or a stray write changed the entry.
                        assert!(a.is_none_or(|a| !a.token_ok), "TokenMismatch on a right token");
                    }
                    Error::Delivery { status, .. } => {
                        self.live.retain(|x| *x != t);
                        if let Some(a) = self.dev.answered.borrow()[slot].clone() {
                            if a.token_ok && (a.entry_sig_ok || !self.dev.checksums) {
                                assert_eq!(status.0, a.delivery);
                            }
                        }
                    }
                    Error::BadMailbox { block, .. } => {
                        self.live.retain(|x| *x != t);
                        if let Some(a) = self.dev.answered.borrow()[slot].clone() {
                            assert!(
                                a.faulty_blocks.iter().any(|&(b, sig_only)| b == *block && !sig_only),
                                "BadMailbox names block {block}, the device broke {:?}",
                                a.faulty_blocks
                            );
                        }
                    }
                    Error::BadSignature { block, .. } => {
                        self.live.retain(|x| *x != t);
                        assert!(self.dev.checksums, "a signature was checked with checksums off");
                        if let (Some(a), Some(block)) = (self.dev.answered.borrow()[slot].clone(), block) {
                            assert!(
                                a.faulty_blocks.iter().any(|&(b, _)| b == *block),
                                "BadSignature names block {block}, the device broke {:?}",
                                a.faulty_blocks
                            );
                        }
                    }
                    other => panic!("poll returned an error it never returns: {other:?}"),
                }
            }
        }
    }

    fn op(&mut self, op: Op) {
        match op {
            Op::Submit { opcode, len, tail, out_len, timeout } => {
                let split = usize::from(tail) % (usize::from(len) + 1);
                let msg = message(opcode, usize::from(len), usize::from(tail));
                self.expect(&msg, true);
                let opts = self.timeout(timeout);
                let (h, t) = msg.split_at(split);
                let r = self.call(|s| s.q.submit_raw(h, t, usize::from(out_len), opts));
                *self.dev.expect_input.borrow_mut() = None;
                match r {
                    Ok(t) => self.live.push(t),
                    Err(e) => {
                        let _ = format!("{e} {e:?}");
                        assert!(
                            matches!(
                                e,
                                Error::DeviceDead(_)
                                    | Error::BadLength { .. }
                                    | Error::Busy(_)
                                    | Error::NoMailboxes { .. }
                            ),
                            "submit returned {e:?}"
                        );
                    }
                }
            }
            Op::Poll { ticket, head, tail } | Op::Wait { ticket, head, tail } => {
                let wait = matches!(op, Op::Wait { .. });
                let Some(t) = self.ticket(ticket) else { return };
                let mut h = vec![CANARY; usize::from(head) % 8192];
                let mut tl = vec![CANARY; usize::from(tail) % 8192];
                let r = if wait {
                    self.call(|s| s.q.wait_raw(t, &mut h, &mut tl).map(Some))
                } else {
                    self.call(|s| s.q.poll_raw(t, &mut h, &mut tl))
                };
                self.check_completion(t, &r, &h, &tl);
            }
            Op::Execute { opcode, len, tail, out_head, out_tail, timeout } => {
                let split = usize::from(tail) % (usize::from(len) + 1);
                let msg = message(opcode, usize::from(len), usize::from(tail));
                self.expect(&msg, true);
                let opts = self.timeout(timeout);
                let (a, b) = msg.split_at(split);
                let mut h = vec![CANARY; usize::from(out_head) % 8192];
                let mut tl = vec![CANARY; usize::from(out_tail) % 8192];
                let r = self.call(|s| s.q.execute_parts(a, b, &mut h, &mut tl, opts));
                *self.dev.expect_input.borrow_mut() = None;
                if let Ok(c) = &r {
                    let got: Vec<u8> = h.iter().chain(tl.iter()).copied().collect();
                    assert!(got[c.len..].iter().all(|&x| x == CANARY), "bytes past the reported length were written");
                }
                if let Err(e) = r {
                    let _ = format!("{e} {e:?}");
                }
            }
            Op::Typed(t) => self.typed(t),
            Op::Script(a) => self.dev.script.borrow_mut().push_back(a),
            Op::AnswerNow { slot } => {
                self.dev.answer(usize::from(slot) % 32);
            }
            Op::PokeIseg { dword, value } => {
                let off = usize::from(dword) * 4 % BAR_LEN;
                if let Some(b) = self.dev.bar.borrow_mut().get_mut(off..off + 4) {
                    b.copy_from_slice(&value.to_le_bytes());
                }
            }
            Op::Health { synd, rfr, counter, nic_interface } => {
                let base = InitialSeg::FIELD_HEALTH_BUFFER.offset / 8;
                let mut bar = self.dev.bar.borrow_mut();
                let mut hb = HealthBuffer::ZERO;
                hb.0.copy_from_slice(&bar[base..base + HealthBuffer::SIZE]);
                hb.set_synd(HealthSyndrome(synd));
                hb.set_rfr(rfr);
                hb.set_valid(true);
                bar[base..base + HealthBuffer::SIZE].copy_from_slice(&hb.0);
                if let Some(c) = counter {
                    field_set(&mut bar, &InitialSeg::FIELD_HEALTH_COUNTER, u64::from(c));
                }
                if let Some(n) = nic_interface {
                    field_set(&mut bar, &InitialSeg::FIELD_NIC_INTERFACE, u64::from(n & 3));
                }
            }
            Op::Scribble { pool, offset, bytes } => {
                let mem = if pool { &self.dev.pool } else { &self.dev.queue };
                let mut m = mem.borrow_mut();
                let off = usize::from(offset);
                for (i, b) in bytes.iter().take(64).enumerate() {
                    if let Some(x) = m.get_mut(off + i) {
                        *x = *b;
                    }
                }
                // A stray write may break any in-flight command's oracle.
                self.dev.tainted.set(true);
            }
            Op::Remove => self.dev.removed.set(true),
            Op::CheckHealth => {
                let r = self.call(|s| s.q.health());
                let _ = format!("{r:?}");
                if r.fatal.is_some() {
                    assert!(self.q.dead().is_some(), "a fatal health report did not mark the device dead");
                }
            }
            Op::Reap => self.call(|s| s.q.reap()),
            Op::SetUid(u) => {
                self.uid = u;
                self.q.set_uid(u);
            }
        }
    }

    fn typed(&mut self, t: Typed) {
        let r: Result<(), Error> = match t {
            Typed::Nop => self.call(|s| s.q.execute::<Nop>(&NopIn::new()).map(drop)),
            Typed::QueryAdapter => self.call(|s| s.q.execute::<QueryAdapter>(&QueryAdapterIn::new()).map(drop)),
            Typed::QueryCap { current } => self.call(|s| s.q.query_cap::<CmdHcaCap>(current).map(drop)),
            Typed::ReadPaos { port } => {
                self.call(|s| s.q.read_register(&PaosReg::new().with_local_port(port), 0).map(drop))
            }
            Typed::WritePaos { port, admin } => self.call(|s| {
                let v =
                    PaosReg::new().with_local_port(port).with_admin_status(mlx5_cmdif::prm::PortStatus(admin & 0xf));
                s.q.write_register(&v, 0).map(drop)
            }),
            Typed::BringUp => {
                let mut pages = std::mem::replace(&mut self.pages, Pages { cap: 0, out: Vec::new(), next: 0 });
                // Bring-up is a sequence of bounded commands: each may use a whole budget.
                let r = self.call(|s| {
                    s.dev.limit.set(MAX_ACCESSES_PER_CALL * 64);
                    hca::bring_up(&mut s.q, &mut pages, &BringUp::default()).map(drop)
                });
                self.pages = pages;
                r
            }
            Typed::Teardown => {
                let mut pages = std::mem::replace(&mut self.pages, Pages { cap: 0, out: Vec::new(), next: 0 });
                let r = self.call(|s| {
                    s.dev.limit.set(MAX_ACCESSES_PER_CALL * 64);
                    hca::teardown(&mut s.q, &mut pages).map(drop)
                });
                self.pages = pages;
                r
            }
        };
        if let Err(e) = r {
            let _ = format!("{e} {e:?}");
        }
    }

    fn finish(&mut self) {
        // Resolve every live ticket: let the device answer everything still pending, then wait.
        let slots = self.dev.slots.min(32);
        for s in 0..slots {
            if let Some(Some(p)) = self.dev.pending.borrow_mut().get_mut(s) {
                p.answer.after_polls = 1;
                p.answer.release = true;
                p.countdown = 1;
            }
        }
        for t in self.live.clone() {
            let mut h = vec![CANARY; 64];
            let mut tl = vec![CANARY; 0];
            let r = self.call(|s| s.q.wait_raw(t, &mut h, &mut tl).map(Some));
            self.check_completion(t, &r, &h, &tl);
        }
        for t in self.dead.clone() {
            let r = self.call(|s| s.q.poll_raw(t, &mut [0u8; 64], &mut []));
            assert!(matches!(r, Err(Error::UnknownTicket)), "a quarantined ticket delivered late: {r:?}");
        }
        self.call(|s| s.q.reap());
        if self.q.in_flight() == 0 {
            assert_eq!(self.q.free_mailboxes(), self.full_pool, "mailbox blocks leaked");
        }
        if self.q.quarantined() == 0 && self.live.is_empty() {
            assert_eq!(self.q.in_flight(), 0);
            assert_eq!(self.q.free_mailboxes(), self.full_pool, "mailbox blocks leaked");
        }
    }
}

fuzz_target!(|input: Input| {
    let Input { setup, script, ops } = input;
    let dev = build(&setup, script);
    // Scale budgets: a whole timeout is at most POLLS_PER_BUDGET polls.
    let cmd_timeout = setup.cmd_timeout_us.map(|t| u64::from(t) % MAX_FUZZ_BUDGET);
    let mut budget = MAX_FUZZ_BUDGET
        .max(u64::from(setup.pre_init_timeout_us) % MAX_FUZZ_BUDGET)
        .max(u64::from(setup.init_timeout_us) % MAX_FUZZ_BUDGET);
    let cmd_timeout = if setup.clockless { Some(cmd_timeout.unwrap_or(MAX_FUZZ_BUDGET)) } else { cmd_timeout };
    if !setup.clockless {
        budget = budget.max(advertised_bound(setup.exec_to)).max(advertised_bound(setup.q_init_to));
        if cmd_timeout.is_none() && setup.exec_to.is_none() {
            budget = budget.max(mlx5_cmdif::engine::queue::DEFAULT_CMD_TIMEOUT_US);
        }
    }
    let step = budget / POLLS_PER_BUDGET + 1;
    dev.tick.set(u64::from(setup.tick).max(step));
    let poll_delay = if setup.clockless {
        u32::try_from(step).unwrap_or(u32::MAX).max(u32::from(setup.poll_delay_us))
    } else {
        u32::from(setup.poll_delay_us)
    };
    let cfg = Config {
        checksums: setup.checksums,
        poll_delay_us: poll_delay,
        cmd_timeout_us: cmd_timeout,
        pre_init_timeout_us: u64::from(setup.pre_init_timeout_us) % MAX_FUZZ_BUDGET,
        init_timeout_us: u64::from(setup.init_timeout_us) % MAX_FUZZ_BUDGET,
        reserve_pages_slot: setup.reserve_pages_slot,
    };
    dev.accesses.set(0);
    let q = match Cmdq::new(Bar(&dev), FakeClock(&dev), QueueMem(&dev), PoolMem(&dev), cfg) {
        Ok(q) => q,
        Err(e) => {
            let _ = format!("{e} {e:?}");
            assert!(
                matches!(
                    e,
                    Error::DeviceDead(_)
                        | Error::InitTimeout { .. }
                        | Error::UnsupportedCmdifRev(_)
                        | Error::BadQueueGeometry { .. }
                        | Error::BadHostMemory { .. }
                ),
                "Cmdq::new returned {e:?}"
            );
            return;
        }
    };
    assert!(dev.slots <= 32 && dev.stride >= 64 && dev.slots * dev.stride <= 4096, "a bad geometry was accepted");
    assert!(!setup.queue_short && !setup.queue_misaligned && !setup.pool_misaligned, "bad host memory was accepted");
    let full_pool = q.free_mailboxes();
    let mut run = Run {
        dev: &dev,
        q,
        live: Vec::new(),
        dead: Vec::new(),
        full_pool,
        uid: 0,
        pages: Pages { cap: usize::from(setup.host_pages), out: Vec::new(), next: 0x4_0000_0000 },
    };
    for op in ops.into_iter().take(64) {
        run.op(op);
    }
    run.finish();
    let _ = to_bus(0);
});
