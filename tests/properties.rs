//! Property tests over every generated layout and the message-splitting logic of the engine.
//!
//! - Every scalar field of every layout (`prm::LAYOUTS`, through its `FieldDesc`): set then get round-trips
//!   the value masked to the width, and no other bit of the buffer changes, whatever the buffer held.
//!   Non-scalar fields refuse writes and leave the buffer alone.
//! - Open enums and flag sets keep values the specs do not name, through the descriptors and through the
//!   generated types.
//! - Commands: every command's input layout, built from arbitrary bytes with its header stamped through
//!   `MboxInHdr`, parses back to the same opcode, op_mod and body; typed `Command`s the same way.
//! - Messages split in two (`Parts` / `PartsMut`) at arbitrary points go through the mailbox-chain logic
//!   (write the input chain, loop it back as the output chain, read it out) unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::cell::RefCell;

use mlx5_cmdif::catalog;
use mlx5_cmdif::command::Command;
use mlx5_cmdif::engine::mailbox::{blocks_for, MailboxPool, Parts, PartsMut, BLOCK_DATA, BLOCK_STRIDE, INLINE_BYTES};
use mlx5_cmdif::host::DmaMemory;
use mlx5_cmdif::layout::{Count, FieldDesc, FieldKind, Layout, LayoutDesc, Value};
use mlx5_cmdif::prm::{
    self, AccessReg, CmdIfBox, CmdStatus, DeliveryStatus, EnableHca, ManagePages, MboxInHdr, MboxOutHdr, Nop, PaosReg,
    PortStatus, QueryAdapter, QueryHcaCap, UctxCap,
};
use proptest::prelude::*;
use zerocopy::{FromBytes, FromZeros, IntoBytes};

/// Fills `buf` from `seed` (xorshift64*): arbitrary buffer contents without generating kilobytes per case.
fn fill(buf: &mut [u8], mut seed: u64) {
    seed |= 1;
    for b in buf.iter_mut() {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        *b = (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8;
    }
}

fn mask(width: usize) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

fn is_scalar(f: &FieldDesc) -> bool {
    matches!(f.kind, FieldKind::Bool | FieldKind::Uint | FieldKind::Sint | FieldKind::Enum(_) | FieldKind::Flags(_))
        && f.width <= 64
}

fn scalar(v: Option<Value<'_>>, width: usize) -> Option<u64> {
    match v? {
        Value::Bool(b) => Some(u64::from(b)),
        Value::Uint(x) | Value::Enum(_, x) | Value::Flags(_, x) => Some(x),
        Value::Sint(x) => Some(x as u64 & mask(width)),
        _ => None,
    }
}

fn bit(buf: &[u8], i: usize) -> bool {
    buf[i / 8] & (0x80 >> (i % 8)) != 0
}

/// Bytes of room after the fixed part, for tail elements.
const TAIL_ROOM: usize = 64;

/// Set-then-get of element `index` of `f` in `layout`, checking every other bit of the buffer.
fn check_field(layout: &LayoutDesc, f: &FieldDesc, seed: u64, value: u64, index: usize) {
    let mut buf = vec![0u8; layout.size_bytes() + TAIL_ROOM];
    fill(&mut buf, seed ^ f.offset as u64);
    let before = buf.clone();
    let n = match f.count {
        Count::One => 1,
        Count::Fixed(n) => n,
        Count::Tail => (TAIL_ROOM * 8 / f.width.max(1)).max(1),
    };
    let index = index % n;
    let wrote = f.write(&mut buf, index, value);
    if !is_scalar(f) {
        assert!(wrote.is_none(), "{}.{}: a non-scalar field accepted a write", layout.name, f.name);
        assert_eq!(buf, before, "{}.{}: a refused write changed the buffer", layout.name, f.name);
        return;
    }
    let start = f.offset + index * f.width;
    if start + f.width > buf.len() * 8 {
        assert!(wrote.is_none(), "{}.{}[{index}]: a write outside the buffer succeeded", layout.name, f.name);
        return;
    }
    assert!(wrote.is_some(), "{}.{}[{index}]: write refused", layout.name, f.name);
    let got = scalar(f.read(&buf, index), f.width);
    assert_eq!(got, Some(value & mask(f.width)), "{}.{}[{index}]: set then get", layout.name, f.name);
    // Bytes the field does not touch are byte-for-byte equal; inside its bytes, bit by bit.
    let (b0, b1) = (start / 8, (start + f.width).div_ceil(8));
    assert_eq!(buf[..b0], before[..b0], "{}.{}[{index}]: bytes before changed", layout.name, f.name);
    assert_eq!(buf[b1..], before[b1..], "{}.{}[{index}]: bytes after changed", layout.name, f.name);
    for i in b0 * 8..b1 * 8 {
        if i < start || i >= start + f.width {
            assert_eq!(
                bit(&buf, i),
                bit(&before, i),
                "{}.{}[{index}]: neighbouring bit {i} changed",
                layout.name,
                f.name
            );
        }
    }
}

fn small_config() -> ProptestConfig {
    // Each case walks every field of every layout; a few dozen cases give millions of checked bits.
    ProptestConfig { cases: 24, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(small_config())]

    #[test]
    fn every_field_of_every_layout_round_trips_and_leaves_its_neighbours_alone(
        seed in any::<u64>(),
        value in any::<u64>(),
        index in any::<usize>(),
    ) {
        for layout in prm::LAYOUTS.iter() {
            for f in layout.fields {
                check_field(layout, f, seed, value, index);
            }
        }
    }

    #[test]
    fn truncated_buffers_read_the_same_bits_or_nothing(seed in any::<u64>(), cut in any::<usize>()) {
        // Firmware output can be shorter than the layout: a field inside the bytes reads what the full
        // buffer reads (even when its dword is cut), a field past them reads None; writes likewise.
        for layout in prm::LAYOUTS.iter() {
            let mut full = vec![0u8; layout.size_bytes()];
            fill(&mut full, seed);
            let len = cut % (full.len() + 1);
            let short = &full[..len];
            for f in layout.fields.iter().filter(|f| is_scalar(f) && f.count == Count::One) {
                let inside = f.offset + f.width <= len * 8;
                let got = scalar(f.read(short, 0), f.width);
                if inside {
                    prop_assert_eq!(got, scalar(f.read(&full, 0), f.width), "{}.{} in {} bytes", layout.name, f.name, len);
                    let mut copy = short.to_vec();
                    prop_assert!(f.write(&mut copy, 0, seed).is_some());
                    prop_assert_eq!(scalar(f.read(&copy, 0), f.width), Some(seed & mask(f.width)), "{}.{} write in {} bytes", layout.name, f.name, len);
                } else {
                    prop_assert_eq!(got, None, "{}.{} past {} bytes", layout.name, f.name, len);
                }
                prop_assert!(f.read(short, usize::MAX).is_none());
            }
        }
    }

    #[test]
    fn open_enums_and_flag_sets_keep_unknown_values_through_the_descriptors(seed in any::<u64>(), value in any::<u64>()) {
        for layout in prm::LAYOUTS.iter() {
            let mut buf = vec![0u8; layout.size_bytes()];
            fill(&mut buf, seed);
            for f in layout.fields.iter().filter(|f| f.count == Count::One && f.width <= 64) {
                let v = value & mask(f.width);
                match f.kind {
                    FieldKind::Enum(e) => {
                        f.write(&mut buf, 0, v).unwrap();
                        match f.read(&buf, 0) {
                            Some(Value::Enum(e2, got)) => {
                                prop_assert!(core::ptr::eq(e, e2));
                                prop_assert_eq!(got, v);
                                let shown = format!("{:?}", f.read(&buf, 0).unwrap());
                                match e.name_of(v) {
                                    Some(name) => prop_assert_eq!(shown, name),
                                    None => prop_assert_eq!(shown, format!("{v:#x} (unknown)")),
                                }
                            }
                            other => prop_assert!(false, "{}.{}: {:?}", layout.name, f.name, other.is_some()),
                        }
                    }
                    FieldKind::Flags(fl) => {
                        f.write(&mut buf, 0, v).unwrap();
                        match f.read(&buf, 0) {
                            Some(Value::Flags(fl2, got)) => {
                                prop_assert!(core::ptr::eq(fl, fl2));
                                prop_assert_eq!(got, v);
                                let known = fl.values.iter().fold(0u64, |a, x| a | x.value);
                                let shown = format!("{:?}", f.read(&buf, 0).unwrap());
                                if v & !known != 0 {
                                    prop_assert!(shown.contains(&format!("{:#x}", v & !known)), "{}", shown);
                                }
                            }
                            other => prop_assert!(false, "{}.{}: {:?}", layout.name, f.name, other.is_some()),
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn open_enums_and_flag_sets_keep_unknown_values_through_the_generated_types(
        port in any::<u8>(),
        status in any::<u8>(),
        delivery in any::<u8>(),
        syndrome in any::<u32>(),
        flags in any::<u32>(),
    ) {
        let ps = PortStatus(status & 0xf);
        let reg = PaosReg::new().with_local_port(port).with_admin_status(ps);
        prop_assert_eq!(reg.admin_status(), ps);
        prop_assert_eq!(reg.local_port(), port);
        prop_assert_eq!(scalar(PaosReg::DESC.field("admin_status").unwrap().read(reg.as_bytes(), 0), 4), Some(u64::from(ps.0)));

        let mut out = MboxOutHdr::new();
        out.set_status(CmdStatus(status));
        out.set_syndrome(syndrome);
        prop_assert_eq!(out.status(), CmdStatus(status));
        prop_assert_eq!(out.syndrome(), syndrome);
        let shown = format!("{:?}", CmdStatus(status));
        prop_assert!(catalog::layout("mbox_out_hdr").is_some());
        if format!("{:?}", out).contains("unknown") {
            prop_assert!(shown.contains(&format!("{status:#x}")), "{}", shown);
        }

        let mut e = mlx5_cmdif::prm::CmdQueueEntry::new();
        e.set_status(DeliveryStatus(delivery & 0x7f));
        e.set_ownership(true);
        prop_assert_eq!(e.status(), DeliveryStatus(delivery & 0x7f));
        prop_assert!(e.ownership());

        let cap = UctxCap::from_bits_retain(flags);
        prop_assert_eq!(cap.bits(), flags);
        let caps = prm::CmdHcaCap::new().with_uctx_cap(cap);
        prop_assert_eq!(caps.uctx_cap().bits(), flags);
    }

    #[test]
    fn every_command_input_builds_and_parses_back(seed in any::<u64>(), op_mod in any::<u16>(), uid in any::<u16>()) {
        for desc in prm::COMMANDS.iter() {
            prop_assert_eq!(catalog::command(desc.opcode).map(|d| d.opcode), Some(desc.opcode));
            let Some(input) = desc.input else { continue };
            let mut msg = vec![0u8; input.size_bytes().max(MboxInHdr::SIZE)];
            fill(&mut msg, seed ^ u64::from(desc.opcode));
            let body = msg[MboxInHdr::SIZE..].to_vec();
            let mut hdr = MboxInHdr::read_from_prefix(&msg).unwrap().0;
            hdr.set_opcode(desc.opcode);
            hdr.set_op_mod(op_mod);
            hdr.set_uid(uid);
            msg[..MboxInHdr::SIZE].copy_from_slice(hdr.as_bytes());

            let back = MboxInHdr::read_from_prefix(&msg).unwrap().0;
            prop_assert_eq!((back.opcode(), back.op_mod(), back.uid()), (desc.opcode, op_mod, uid));
            prop_assert_eq!(&msg[MboxInHdr::SIZE..], &body[..]);
            // The command's own layout agrees on the header fields it names.
            if let Some(f) = input.field("opcode") {
                prop_assert_eq!(scalar(f.read(&msg, 0), f.width), Some(u64::from(desc.opcode)), "{}", desc.name);
            }
            if let Some(f) = input.field("op_mod") {
                prop_assert_eq!(scalar(f.read(&msg, 0), f.width), Some(u64::from(op_mod) & mask(f.width)), "{}", desc.name);
            }
            let _ = format!("{:?}", input.view(&msg));
        }
    }

    #[test]
    fn typed_commands_build_and_parse_back(seed in any::<u64>()) {
        typed_round_trip::<Nop>(seed)?;
        typed_round_trip::<QueryHcaCap>(seed)?;
        typed_round_trip::<AccessReg>(seed)?;
        typed_round_trip::<ManagePages>(seed)?;
        typed_round_trip::<EnableHca>(seed)?;
        typed_round_trip::<QueryAdapter>(seed)?;
    }

    #[test]
    fn split_messages_survive_the_mailbox_chains(
        len in 0usize..3000,
        in_split in any::<usize>(),
        out_split in any::<usize>(),
        out_extra in 0usize..700,
        seed in any::<u64>(),
        token in 1u8..,
        checksums in any::<bool>(),
    ) {
        let mut msg = vec![0u8; len];
        fill(&mut msg, seed);
        let in_split = in_split % (len + 1);
        let parts = Parts { head: &msg[..in_split], tail: &msg[in_split..] };
        prop_assert_eq!(parts.len(), len);

        // Parts::copy_to at any offset is the slice of the whole message, zero-filled past its end.
        let off = seed as usize % (len + 8);
        let mut window = [0xeeu8; 40];
        parts.copy_to(off, &mut window);
        for (i, &b) in window.iter().enumerate() {
            prop_assert_eq!(b, msg.get(off + i).copied().unwrap_or(0));
        }

        let mem = Mem::new(64 * BLOCK_STRIDE);
        let mut pool = MailboxPool::new(&mem).map_err(|_| TestCaseError::fail("pool"))?;
        let full = pool.free_blocks();
        let n = blocks_for(len);
        let input = pool.alloc(n).unwrap();
        let output = pool.alloc(n).unwrap();
        pool.write_input(input, parts, token, checksums);
        pool.prepare_output(output, token, checksums);
        // Loop back: the "device" copies each input block's data into the matching output block.
        for k in 0..n {
            let src = mem.block(pool.head_addr(input), k);
            let dst_addr = pool.head_addr(output);
            let mut dst = mem.block(dst_addr, k);
            dst.mailbox_data_bytes_mut().copy_from_slice(src.mailbox_data_bytes());
            if checksums {
                mlx5_cmdif::engine::signature::sign_block(&mut dst);
            }
            mem.put_block(dst_addr, k, &dst);
            prop_assert_eq!(src.block_number(), k as u32);
            prop_assert_eq!(src.token(), token);
        }
        // Read into a destination split at another point, possibly larger than the message.
        let total = len + out_extra;
        let out_split = out_split % (total + 1);
        let mut head = vec![0x5au8; out_split];
        let mut tail = vec![0x5au8; total - out_split];
        let inline = len.min(INLINE_BYTES);
        {
            let mut dst = PartsMut { head: &mut head, tail: &mut tail };
            dst.copy_from(0, &msg[..inline]);
            pool.read_output(output, token, checksums, &mut dst).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        }
        let got: Vec<u8> = head.iter().chain(tail.iter()).copied().collect();
        prop_assert_eq!(&got[..len], &msg[..]);
        // Past the message: zeros where a block carried padding, untouched beyond the last block.
        let carried = if n == 0 { len } else { INLINE_BYTES + n * BLOCK_DATA };
        for (i, &b) in got.iter().enumerate().skip(len) {
            prop_assert_eq!(b, if i < carried { 0 } else { 0x5a }, "byte {} of {}", i, total);
        }
        pool.release(input);
        pool.release(output);
        prop_assert_eq!(pool.free_blocks(), full);
    }
}

fn typed_round_trip<C: Command>(seed: u64) -> Result<(), TestCaseError> {
    let mut input = C::In::new_zeroed();
    fill(input.as_mut_bytes(), seed);
    let body = input.as_bytes()[MboxInHdr::SIZE.min(C::In::SIZE)..].to_vec();
    let mut hdr = MboxInHdr::read_from_prefix(input.as_bytes()).unwrap().0;
    hdr.set_opcode(C::OPCODE);
    input.as_mut_bytes()[..MboxInHdr::SIZE].copy_from_slice(hdr.as_bytes());
    let back = C::In::read_from_bytes(input.as_bytes()).unwrap();
    let parsed = MboxInHdr::read_from_prefix(back.as_bytes()).unwrap().0;
    prop_assert_eq!(parsed.opcode(), C::OPCODE);
    prop_assert_eq!(C::DESC.opcode, C::OPCODE);
    prop_assert_eq!(&back.as_bytes()[MboxInHdr::SIZE..], &body[..]);
    prop_assert!(core::ptr::eq(C::DESC.input.unwrap(), <C::In as Layout>::DESC));
    Ok(())
}

/// In-memory DMA memory at a 1 KiB-aligned bus address.
struct Mem {
    bytes: RefCell<Vec<u8>>,
}

const MEM_BUS: u64 = 0x8000_0000;

impl Mem {
    fn new(len: usize) -> Self {
        Mem { bytes: RefCell::new(vec![0xcc; len]) }
    }

    fn block(&self, head: u64, k: usize) -> CmdIfBox {
        let off = (head - MEM_BUS) as usize + k * BLOCK_STRIDE;
        CmdIfBox::read_from_bytes(&self.bytes.borrow()[off..off + CmdIfBox::SIZE]).unwrap()
    }

    fn put_block(&self, head: u64, k: usize, b: &CmdIfBox) {
        let off = (head - MEM_BUS) as usize + k * BLOCK_STRIDE;
        self.bytes.borrow_mut()[off..off + CmdIfBox::SIZE].copy_from_slice(b.as_bytes());
    }
}

impl DmaMemory for Mem {
    fn bus_addr(&self) -> u64 {
        MEM_BUS
    }
    fn len(&self) -> usize {
        self.bytes.borrow().len()
    }
    fn read(&self, offset: usize, out: &mut [u8]) {
        match self.bytes.borrow().get(offset..offset + out.len()) {
            Some(s) => out.copy_from_slice(s),
            None => out.fill(0),
        }
    }
    fn write(&self, offset: usize, data: &[u8]) {
        if let Some(s) = self.bytes.borrow_mut().get_mut(offset..offset + data.len()) {
            s.copy_from_slice(data);
        }
    }
}
