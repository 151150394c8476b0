//! Every PRM layout decoded from arbitrary bytes (firmware output is untrusted): the `Debug` view of the
//! static description, `FieldDesc::read` of every field and element (tails included, and indexes past
//! the end), `FieldDesc::write` on a copy, the catalog look-ups with fuzzed names and numbers, and typed
//! accessors of layouts cast from the bytes with zerocopy.
//!
//! Invariants: nothing panics; `read` of an element inside the bytes is `Some`, outside is `None`; a
//! `write` followed by a `read` gives the value back (masked to the width).
#![no_main]

use core::fmt::Write as _;

use libfuzzer_sys::fuzz_target;
use mlx5_cmdif::catalog;
use mlx5_cmdif::layout::{Count, FieldKind, Layout, Value};
use mlx5_cmdif::prm::{self, CmdIfBox, CmdQueueEntry, HealthBuffer, InitialSeg, ManagePagesOut, MboxOutHdr};
use zerocopy::FromBytes;

/// A `fmt::Write` sink that only counts, so formatting is exercised without allocating much.
struct Sink(usize);

impl core::fmt::Write for Sink {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

fn bit_len(bytes: &[u8]) -> usize {
    bytes.len() * 8
}

fn fuzz_layouts(data: &[u8]) {
    let mut sink = Sink(0);
    for desc in prm::LAYOUTS.iter() {
        let _ = write!(sink, "{:?}", desc.view(data));
        for f in desc.fields {
            let n = match f.count {
                Count::One => 1,
                Count::Fixed(n) => n,
                // A tail has as many elements as the bytes hold; try one more.
                Count::Tail => bit_len(data).saturating_sub(f.offset) / f.width.max(1) + 1,
            };
            for i in 0..n.min(4096) {
                let v = f.read(data, i);
                let end = f.offset + (i + 1) * f.width;
                // A field wider than 64 bits is a byte string, which needs whole bytes; others are integers.
                let start = f.offset + i * f.width;
                let representable = f.width <= 64 || (f.width % 8 == 0 && start % 8 == 0);
                if end <= bit_len(data) && representable && !matches!(f.kind, FieldKind::Layout(_) | FieldKind::Bytes) {
                    assert!(
                        v.is_some(),
                        "{}.{}[{i}] lies inside {} bytes but reads None",
                        desc.name,
                        f.name,
                        data.len()
                    );
                }
                if end > bit_len(data) {
                    assert!(
                        v.is_none(),
                        "{}.{}[{i}] lies outside {} bytes but reads Some",
                        desc.name,
                        f.name,
                        data.len()
                    );
                }
                if let Some(v) = v {
                    let _ = write!(sink, "{v:?}");
                }
            }
            // Past the end of a fixed array, and absurd indexes.
            assert!(f.elements().is_none_or(|n| f.read(data, n).is_none()));
            let _ = f.read(data, usize::MAX);
            let _ = f.read(data, usize::MAX / f.width.max(1));
        }
    }
}

fn fuzz_writes(data: &[u8]) {
    // Write the first bytes back as a value into every scalar field of one layout chosen by the input.
    let Some((&pick, rest)) = data.split_first() else { return };
    let desc = prm::LAYOUTS[usize::from(pick) % prm::LAYOUTS.len()];
    let value = rest.iter().take(8).fold(0u64, |a, &b| (a << 8) | u64::from(b));
    let mut buf = rest.to_vec();
    for f in desc.fields {
        let idx = usize::from(pick) % f.elements().unwrap_or(4).max(1);
        if f.write(&mut buf, idx, value).is_some() {
            let mask = if f.width >= 64 { u64::MAX } else { (1u64 << f.width) - 1 };
            let back = match f.read(&buf, idx) {
                Some(Value::Bool(b)) => u64::from(b),
                Some(Value::Uint(v)) | Some(Value::Enum(_, v)) | Some(Value::Flags(_, v)) => v,
                Some(Value::Sint(v)) => v as u64 & mask,
                other => panic!("{}.{}: wrote a scalar, read {:?}", desc.name, f.name, other),
            };
            assert_eq!(back, value & mask, "{}.{}[{idx}] round trip", desc.name, f.name);
        }
    }
}

fn fuzz_catalog(data: &[u8]) {
    let name = String::from_utf8_lossy(data);
    let _ = catalog::layout(&name);
    let _ = catalog::command_by_name(&name);
    let _ = catalog::register_by_name(&name);
    let _ = catalog::cap_by_name(&name);
    for w in data.chunks(2) {
        let n = w.iter().fold(0u16, |a, &b| (a << 8) | u16::from(b));
        let _ = catalog::command(n);
        let _ = catalog::register(n);
        let _ = catalog::cap(n);
        let _ = catalog::min_scope(n, n.rotate_left(5));
    }
    // Every name in the catalog finds itself.
    for d in prm::LAYOUTS.iter() {
        assert!(catalog::layout(d.name).is_some_and(|l| core::ptr::eq(l, *d)));
    }
}

fn fuzz_typed(data: &[u8]) {
    let mut sink = Sink(0);
    if let Ok((e, _)) = CmdQueueEntry::ref_from_prefix(data) {
        let _ = write!(sink, "{e:?} {:?} {:?} {}", e.status(), e.token(), e.ownership());
        let _ = e.command_output_inline_data(usize::from(e.token()));
    }
    if let Ok((b, _)) = CmdIfBox::ref_from_prefix(data) {
        let _ = write!(sink, "{b:?} {} {}", b.block_number(), b.next_pointer_31_10());
        let _ = b.mailbox_data(b.block_number() as usize);
    }
    if let Ok((h, _)) = MboxOutHdr::ref_from_prefix(data) {
        let _ = write!(sink, "{h:?} {:?} {}", h.status(), h.syndrome());
    }
    if let Ok((h, _)) = HealthBuffer::ref_from_prefix(data) {
        let _ = write!(sink, "{h:?} {:?} {:?}", h.synd(), h.severity());
    }
    if let Ok((s, _)) = InitialSeg::ref_from_prefix(data) {
        let _ = write!(sink, "{s:?}");
    }
    if let Ok((m, _)) = ManagePagesOut::ref_from_prefix(data) {
        let n = m.output_num_entries() as usize;
        let _ = write!(sink, "{m:?} {}", ManagePagesOut::tail_pas_len(data.len()));
        for i in [0, n, n.saturating_sub(1), usize::MAX, ManagePagesOut::tail_pas_len(data.len())] {
            let _ = ManagePagesOut::tail_pas(data, i);
        }
        let mut copy = data.to_vec();
        let _ = ManagePagesOut::set_tail_pas(&mut copy, n, 7);
    }
    // The typed Debug of any layout is its description's view.
    let _ = write!(sink, "{:?}", <CmdQueueEntry as Layout>::DESC.view(data));
}

fuzz_target!(|data: &[u8]| {
    fuzz_layouts(data);
    fuzz_writes(data);
    fuzz_catalog(data);
    fuzz_typed(data);
});
