//! A tiny driver for the device model, written the way a host driver talks to the device: entries built
//! with the generated `CmdQueueEntry` accessors, mailboxes with `CmdIfBox`, BAR0 through `Mmio`.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use mlx5_cmdif::host::{DmaMemory, Mmio, PageProvider};
use mlx5_cmdif::layout::FieldDesc;
use mlx5_cmdif::prm::*;
use mlx5_cmdif::sim::{SimBus, SimConfig, SimDevice, SimDma, SimMmio, SimPages};
use zerocopy::IntoBytes;

pub const STATUS_OWN: usize = CmdQueueEntry::FIELD_OWNERSHIP.offset / 8;

/// Byte offset of the dword of an init-segment field.
pub fn dword(f: FieldDesc) -> usize {
    f.offset / 32 * 4
}

pub fn xor8(b: &[u8]) -> u8 {
    b.iter().fold(0, |a, x| a ^ x)
}

/// A mailbox chain the driver keeps alive while the command is out.
pub struct Chain {
    pub blocks: Vec<SimDma>,
}

impl Chain {
    pub fn head(&self) -> u64 {
        self.blocks.first().map_or(0, |b| b.bus_addr())
    }
}

/// A finished command.
#[derive(Debug)]
pub struct Done {
    pub entry: CmdQueueEntry,
    pub delivery: DeliveryStatus,
    pub output: Vec<u8>,
    pub out_blocks: Vec<CmdIfBox>,
}

impl Done {
    pub fn status(&self) -> CmdStatus {
        CmdStatus(self.output.first().copied().unwrap_or(0xff))
    }
    pub fn syndrome(&self) -> u32 {
        u32::from_be_bytes(self.output[4..8].try_into().unwrap())
    }
}

pub struct Driver {
    pub bus: Arc<SimBus>,
    pub dev: SimDevice,
    pub mmio: SimMmio,
    pub queue: SimDma,
    pub token: u8,
    pub stride: usize,
    pub checksums: bool,
    /// Chains of submitted commands: (slot, input chain, output chain).
    pub chains: Vec<(usize, Chain, Chain)>,
}

/// A config that boots at once (tests that check boot behaviour build their own).
pub fn quick() -> SimConfig {
    SimConfig { boot_reads: 0, reinit_reads: 0, ..SimConfig::default() }
}

impl Driver {
    pub fn new(cfg: SimConfig) -> Self {
        let bus = SimBus::new();
        let dev = SimDevice::new(&bus, cfg);
        Self::attach(bus, dev)
    }

    pub fn threaded(cfg: SimConfig) -> Self {
        let bus = SimBus::new();
        let dev = SimDevice::threaded(&bus, cfg);
        Self::attach(bus, dev)
    }

    /// Waits for `initializing` to clear, programs the queue, waits again.
    pub fn attach(bus: Arc<SimBus>, dev: SimDevice) -> Self {
        let mmio = dev.mmio();
        let queue = bus.alloc(4096, 4096);
        let mut d = Driver { bus, dev, mmio, queue, token: 0, stride: 0, checksums: false, chains: Vec::new() };
        assert!(d.wait_ready(1000), "device never finished initializing");
        let l = d.reg(InitialSeg::FIELD_LOG_CMDQ_STRIDE);
        d.stride = 1 << (l & 0xf);
        let addr = d.queue.bus_addr();
        d.write_reg(dword(InitialSeg::FIELD_CMDQ_PHY_ADDR_63_32), (addr >> 32) as u32);
        d.write_reg(dword(InitialSeg::FIELD_CMDQ_PHY_ADDR_31_12), addr as u32);
        assert!(d.wait_ready(1000), "device never finished initializing after the queue address");
        d
    }

    /// The big-endian value of the dword holding `f`.
    pub fn reg(&self, f: FieldDesc) -> u32 {
        self.reg_at(dword(f))
    }

    pub fn reg_at(&self, off: usize) -> u32 {
        u32::from_be_bytes(self.mmio.read32(off).to_le_bytes())
    }

    pub fn write_reg(&self, off: usize, v: u32) {
        self.mmio.write32(off, u32::from_le_bytes(v.to_be_bytes()));
    }

    pub fn initializing(&self) -> bool {
        self.reg(InitialSeg::FIELD_INITIALIZING) >> 31 == 1
    }

    pub fn wait_ready(&self, reads: u32) -> bool {
        (0..reads).any(|_| !self.initializing())
    }

    pub fn next_token(&mut self) -> u8 {
        self.token = self.token.wrapping_add(1);
        if self.token == 0 {
            self.token = 1;
        }
        self.token
    }

    /// Allocates a chain of `n` blocks carrying `data` (512 bytes each), stamped and (optionally) signed.
    pub fn chain(&self, data: &[u8], n: usize, token: u8) -> Chain {
        let blocks: Vec<SimDma> = (0..n).map(|_| self.bus.alloc(CmdIfBox::SIZE, 1024)).collect();
        for (i, b) in blocks.iter().enumerate() {
            let mut bx = CmdIfBox::new().with_block_number(i as u32).with_token(token);
            if let Some(next) = blocks.get(i + 1) {
                bx.set_next_pointer_63_32((next.bus_addr() >> 32) as u32);
                bx.set_next_pointer_31_10((next.bus_addr() as u32) >> 10);
            }
            let chunk = data.get(i * 512..data.len().min((i + 1) * 512)).unwrap_or(&[]);
            bx.mailbox_data_bytes_mut()[..chunk.len()].copy_from_slice(chunk);
            if self.checksums {
                sign_block(&mut bx);
            }
            b.write(0, bx.as_bytes());
        }
        Chain { blocks }
    }

    /// Builds the entry for `input` / `out_len` (with fresh chains) without ringing.
    pub fn prepare(&mut self, slot: usize, input: &[u8], out_len: usize) -> CmdQueueEntry {
        let token = self.next_token();
        let in_chain = self.chain(input.get(16..).unwrap_or(&[]), blocks_for(input.len()), token);
        let out_chain = self.chain(&[], blocks_for(out_len), token);
        let mut inline = [0u8; 16];
        let n = input.len().min(16);
        inline[..n].copy_from_slice(&input[..n]);
        let mut e = CmdQueueEntry::new()
            .with_type(CmdXport::PCI)
            .with_input_length(input.len() as u32)
            .with_command_input_inline_data(inline)
            .with_output_length(out_len as u32)
            .with_token(token)
            .with_ownership(true);
        set_in_ptr(&mut e, in_chain.head());
        set_out_ptr(&mut e, out_chain.head());
        sign_entry(&mut e);
        self.chains.retain(|(s, _, _)| *s != slot);
        self.chains.push((slot, in_chain, out_chain));
        e
    }

    pub fn write_entry(&self, slot: usize, e: &CmdQueueEntry) {
        self.queue.write(slot * self.stride, e.as_bytes());
    }

    pub fn ring(&self, slot: usize) {
        self.write_reg(dword(InitialSeg::FIELD_COMMAND_DOORBELL_VECTOR), 1 << slot);
    }

    pub fn submit(&mut self, slot: usize, input: &[u8], out_len: usize) {
        let e = self.prepare(slot, input, out_len);
        self.write_entry(slot, &e);
        self.ring(slot);
    }

    pub fn entry(&self, slot: usize) -> CmdQueueEntry {
        let mut e = CmdQueueEntry::new();
        self.queue.read(slot * self.stride, &mut e.0);
        e
    }

    /// Whether hardware still owns the slot (one poll).
    pub fn owned(&self, slot: usize) -> bool {
        let mut b = [0u8; 1];
        self.queue.read(slot * self.stride + STATUS_OWN, &mut b);
        b[0] & 1 == 1
    }

    /// Polls up to `polls` times (and at most 2 s) for the slot to come back.
    pub fn poll(&self, slot: usize, polls: u32) -> Option<Done> {
        let start = Instant::now();
        for _ in 0..polls {
            if !self.owned(slot) {
                return Some(self.collect(slot));
            }
            if start.elapsed() > Duration::from_secs(2) {
                break;
            }
            std::hint::spin_loop();
        }
        None
    }

    /// Reads the finished entry and its output.
    pub fn collect(&self, slot: usize) -> Done {
        let entry = self.entry(slot);
        let out_len = entry.output_length() as usize;
        let mut output = entry.command_output_inline_data_bytes()[..out_len.min(16)].to_vec();
        let mut out_blocks = Vec::new();
        if let Some((_, _, out)) = self.chains.iter().find(|(s, _, _)| *s == slot) {
            for b in &out.blocks {
                let mut bx = CmdIfBox::new();
                b.read(0, &mut bx.0);
                out_blocks.push(bx);
            }
        }
        for bx in &out_blocks {
            let want = out_len - output.len();
            output.extend_from_slice(&bx.mailbox_data_bytes()[..want.min(512)]);
        }
        Done { entry, delivery: entry.status(), output, out_blocks }
    }

    /// Submits on slot 0 and waits.
    pub fn exec(&mut self, input: &[u8], out_len: usize) -> Done {
        self.submit(0, input, out_len);
        self.poll(0, 10_000_000).expect("command did not complete")
    }

    /// Executes and asserts delivery OK.
    pub fn cmd(&mut self, input: &[u8], out_len: usize) -> Done {
        let d = self.exec(input, out_len);
        assert_eq!(d.delivery, DeliveryStatus::OK, "delivery of {:#x}", u16::from_be_bytes([input[0], input[1]]));
        d
    }

    /// Executes and asserts firmware status OK.
    pub fn ok(&mut self, input: &[u8], out_len: usize) -> Vec<u8> {
        let d = self.cmd(input, out_len);
        assert_eq!(
            d.status(),
            CmdStatus::OK,
            "status of {:#x}, syndrome {:#x}",
            u16::from_be_bytes([input[0], input[1]]),
            d.syndrome()
        );
        d.output
    }

    pub fn give_pages(&mut self, pages: &mut SimPages, n: usize) {
        let mut msg = ManagePagesIn::new()
            .with_opcode(Opcode::MANAGE_PAGES.0)
            .with_op_mod(1)
            .with_input_num_entries(n as u32)
            .as_bytes()
            .to_vec();
        msg.resize(ManagePagesIn::len_with_pas(n), 0);
        for i in 0..n {
            ManagePagesIn::set_tail_pas(&mut msg, i, pages.alloc_page().unwrap()).unwrap();
        }
        self.ok(&msg, ManagePagesOut::SIZE);
    }

    pub fn query_pages(&mut self, op_mod: u16) -> i32 {
        let out = self.ok(
            QueryPagesIn::new().with_opcode(Opcode::QUERY_PAGES.0).with_op_mod(op_mod).as_bytes(),
            QueryPagesOut::SIZE,
        );
        QueryPagesOut::read(&out).num_pages()
    }

    /// The Linux bring-up order up to INIT_HCA; returns the page provider.
    pub fn bring_up(&mut self) -> SimPages {
        let mut pages = SimPages::new(&self.bus);
        self.ok(EnableHcaIn::new().with_opcode(Opcode::ENABLE_HCA.0).as_bytes(), EnableHcaOut::SIZE);
        let out = self.ok(QueryIssiIn::new().with_opcode(Opcode::QUERY_ISSI.0).as_bytes(), QueryIssiOut::SIZE);
        assert_eq!(QueryIssiOut::read(&out).supported_issi_dw0() & 2, 2);
        self.ok(SetIssiIn::new().with_opcode(Opcode::SET_ISSI.0).with_current_issi(1).as_bytes(), SetIssiOut::SIZE);
        let boot = self.query_pages(1);
        self.give_pages(&mut pages, boot as usize);
        let cur = self.ok(
            QueryHcaCapIn::new().with_opcode(Opcode::QUERY_HCA_CAP.0).with_op_mod(1).as_bytes(),
            QueryHcaCapOut::SIZE,
        );
        let mut set = SetHcaCapIn::new().with_opcode(Opcode::SET_HCA_CAP.0).with_op_mod(0);
        set.set_capability(QueryHcaCapOut::read(&cur).capability());
        set.capability_mut().cmd_hca_cap_mut().set_cmdif_checksum(CmdifChecksum::DISABLED);
        self.ok(set.as_bytes(), SetHcaCapOut::SIZE);
        let init = self.query_pages(2);
        self.give_pages(&mut pages, init as usize);
        self.ok(InitHcaIn::new().with_opcode(Opcode::INIT_HCA.0).as_bytes(), InitHcaOut::SIZE);
        pages
    }
}

/// A layout from the front of an output message.
pub trait ReadOut: Sized {
    fn read(b: &[u8]) -> Self;
}

impl<T: zerocopy::FromBytes> ReadOut for T {
    fn read(b: &[u8]) -> Self {
        T::read_from_prefix(b).expect("output too short").0
    }
}

pub fn blocks_for(len: usize) -> usize {
    len.saturating_sub(16).div_ceil(512)
}

pub fn set_in_ptr(e: &mut CmdQueueEntry, p: u64) {
    e.set_input_mailbox_pointer_63_32((p >> 32) as u32);
    e.set_input_mailbox_pointer_31_9((p as u32) >> 9);
}

pub fn set_out_ptr(e: &mut CmdQueueEntry, p: u64) {
    e.set_output_mailbox_pointer_63_32((p >> 32) as u32);
    e.set_output_mailbox_pointer_31_9((p as u32) >> 9);
}

pub fn sign_entry(e: &mut CmdQueueEntry) {
    e.set_signature(0);
    let x = xor8(e.as_bytes());
    e.set_signature(!x);
}

pub fn sign_block(b: &mut CmdIfBox) {
    b.set_ctrl_signature(0);
    b.set_signature(0);
    let c = xor8(&b.as_bytes()[512..CmdIfBox::FIELD_CTRL_SIGNATURE.offset / 8]);
    b.set_ctrl_signature(!c);
    let s = xor8(&b.as_bytes()[..CmdIfBox::FIELD_SIGNATURE.offset / 8]);
    b.set_signature(!s);
}

/// A header-only input of `opcode`.
pub fn hdr(opcode: Opcode, op_mod: u16) -> Vec<u8> {
    MboxInHdr::new().with_opcode(opcode.0).with_op_mod(op_mod).as_bytes().to_vec()
}

impl Driver {
    /// Reads a field of BAR0 at `base_bits + f.offset` (e.g. a health-buffer field), as a driver would.
    pub fn bar_field(&self, base_bits: usize, f: FieldDesc) -> u32 {
        let bit = base_bits + f.offset;
        let v = self.reg_at(bit / 32 * 4);
        mlx5_cmdif::layout::bits::get32(&v.to_be_bytes(), bit % 32, f.width as u32)
    }
}
