//! The generated layouts behave as promised: round trips that leave every other bit alone (checked against an
//! independent, bit-by-bit model of PRM numbering), typed accessors that agree with the descriptors, `const`
//! builders, open enums, flag sets that keep unknown bits, checked arrays, zero-copy nesting, tails, `Debug`,
//! the catalogue look-ups and the `Command` trait.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use mlx5_cmdif::catalog;
use mlx5_cmdif::command::{AccessRegister, CapabilityPage, Command, Scope};
use mlx5_cmdif::layout::{Count, FieldDesc, FieldKind, Layout, LayoutDesc, OutOfRange, Value};
use mlx5_cmdif::prm::{
    CmdHcaCap, CmdQueueEntry, HcaCapUnion, ManagePagesIn, PaosReg, PortStatus, QueryHcaCap, QueryHcaCapIn,
    QueryHcaCapOut, QueryPagesOut, UctxCap, LAYOUTS,
};

// ---------------------------------------------------------------------------------------------------------
// An independent model of PRM bit numbering: bit 0 is the MSB of byte 0.

fn model_get(b: &[u8], offset: usize, width: usize) -> u64 {
    (0..width).fold(0u64, |v, i| {
        let pos = offset + i;
        (v << 1) | u64::from((b[pos / 8] >> (7 - pos % 8)) & 1)
    })
}

fn model_set(b: &mut [u8], offset: usize, width: usize, v: u64) {
    for i in 0..width {
        let pos = offset + i;
        let bit = (v >> (width - 1 - i)) & 1;
        let m = 1u8 << (7 - pos % 8);
        b[pos / 8] = (b[pos / 8] & !m) | if bit == 1 { m } else { 0 };
    }
}

fn mask(width: usize) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

/// A value's raw bits, whatever its kind.
fn raw(v: Value<'_>, width: usize) -> u64 {
    match v {
        Value::Bool(b) => u64::from(b),
        Value::Uint(x) | Value::Enum(_, x) | Value::Flags(_, x) => x,
        Value::Sint(x) => (x as u64) & mask(width),
        Value::Bytes(_) | Value::Layout(..) => panic!("not a scalar"),
    }
}

fn is_scalar(f: &FieldDesc) -> bool {
    matches!(f.kind, FieldKind::Bool | FieldKind::Uint | FieldKind::Sint | FieldKind::Enum(_) | FieldKind::Flags(_))
        && f.width <= 64
}

/// Element indices worth trying: all of a small array, the ends and the middle of a big one, a few of a tail.
fn indices(f: &FieldDesc) -> Vec<usize> {
    match f.count {
        Count::One => vec![0],
        Count::Fixed(n) if n <= 8 => (0..n).collect(),
        Count::Fixed(n) => vec![0, 1, n / 2, n - 1],
        Count::Tail => vec![0, 1, 2],
    }
}

/// Round-trips `value` through element `i` of `f` on a buffer filled with `fill`, and checks that exactly the
/// field's bits changed, as the model says.
fn round_trip(l: &LayoutDesc, f: &FieldDesc, i: usize, fill: u8, value: u64) {
    let tail_room = if f.count == Count::Tail { 4 * f.width.div_ceil(8) } else { 0 };
    let mut buf = vec![fill; l.size_bytes() + tail_room];
    let mut want = buf.clone();
    let bit = f.offset + i * f.width;
    model_set(&mut want, bit, f.width, value);
    f.write(&mut buf, i, value).unwrap_or_else(|| panic!("{}.{}[{i}]: write failed", l.name, f.name));
    assert!(
        buf == want,
        "{}.{}[{i}] = {value:#x} on {fill:#04x}: other bits changed or wrong bits written",
        l.name,
        f.name
    );
    let got = raw(f.read(&buf, i).expect("read back"), f.width);
    assert_eq!(got, value, "{}.{}[{i}] on {fill:#04x}: read back", l.name, f.name);
    assert_eq!(model_get(&buf, bit, f.width), value);
}

#[test]
fn every_scalar_field_of_every_layout_round_trips_and_keeps_other_bits() {
    let mut fields = 0;
    for l in LAYOUTS.iter() {
        for f in l.fields.iter().filter(|f| is_scalar(f)) {
            for i in indices(f) {
                for fill in [0x00, 0xff] {
                    let m = mask(f.width);
                    for value in [m, 0, 0xa5a5_a5a5_a5a5_a5a5 & m, 0x5a5a_5a5a_5a5a_5a5a & m, 1] {
                        round_trip(l, f, i, fill, value);
                    }
                }
            }
            fields += 1;
        }
    }
    assert!(fields > 1000, "only {fields} scalar fields checked");
}

#[test]
fn descriptors_are_consistent() {
    for l in LAYOUTS.iter() {
        assert_eq!(l.size_bits % 8, 0, "{}", l.name);
        let mut pos = 0;
        for f in l.fields {
            let end = f.offset + f.total_bits();
            assert!(end <= l.size_bits, "{}.{} ends past the layout", l.name, f.name);
            if l.kind == mlx5_cmdif::layout::LayoutKind::Struct {
                assert_eq!(f.offset, pos, "{}.{} does not follow the previous field", l.name, f.name);
                pos = end;
            } else {
                assert_eq!(f.offset, 0, "{}.{}: union members start at 0", l.name, f.name);
            }
            if let FieldKind::Layout(sub) = f.kind {
                assert_eq!(sub.size_bits, f.width, "{}.{}", l.name, f.name);
            }
            assert!(l.field(f.name).is_some());
        }
        assert!(catalog::layout(l.name).is_some_and(|x| core::ptr::eq(x, *l)), "{}: catalog", l.name);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Typed accessors.

/// Reads field `name` of layout bytes through its descriptor.
fn desc_read(desc: &LayoutDesc, bytes: &[u8], name: &str, i: usize) -> u64 {
    let f = desc.field(name).unwrap_or_else(|| panic!("{}.{name}", desc.name));
    raw(f.read(bytes, i).unwrap(), f.width)
}

#[test]
fn paos_typed_accessors_round_trip_and_agree_with_descriptors() {
    for fill in [0x00u8, 0xff] {
        let base = PaosReg([fill; 16]);
        // Every field of PAOS, each set alone: read back, descriptor agrees, nothing else changed.
        let cases: [(&str, PaosReg, u64); 7] = [
            ("swid", base.with_swid(0x5a), 0x5a),
            ("local_port", base.with_local_port(0xa5), 0xa5),
            ("admin_status", base.with_admin_status(PortStatus::DOWN), 2),
            ("oper_status", base.with_oper_status(PortStatus(9)), 9),
            ("ase", base.with_ase(fill == 0), u64::from(fill == 0)),
            ("ee", base.with_ee(fill == 0), u64::from(fill == 0)),
            ("e", base.with_e(1), 1),
        ];
        for (name, reg, v) in cases {
            assert_eq!(desc_read(PaosReg::DESC, &reg.0, name, 0), v, "{name} on {fill:#x}");
            let f = PaosReg::DESC.field(name).unwrap();
            let mut want = base.0;
            model_set(&mut want, f.offset, f.width, v);
            assert_eq!(reg.0, want, "{name} on {fill:#x}: other bits changed");
        }
        let r = base.with_swid(1).with_local_port(2).with_admin_status(PortStatus::UP).with_e(3);
        assert_eq!((r.swid(), r.local_port(), r.admin_status(), r.e()), (1, 2, PortStatus::UP, 3));
    }
    // Setters drop bits beyond the field.
    let mut p = PaosReg::new();
    p.set_admin_status(PortStatus(0xf3));
    assert_eq!(p.admin_status(), PortStatus(3));
    assert_eq!(p.0[2], 0x03);
    assert_eq!(p.oper_status(), PortStatus(0));
}

#[test]
fn cmd_queue_entry_accessors_agree_with_descriptors() {
    let mut e = CmdQueueEntry::new();
    e.set_input_mailbox_pointer_63_32(0x1234_5678);
    e.set_input_mailbox_pointer_31_9(0x7f_ffff);
    e.set_ownership(true);
    e.set_signature(0xab);
    e.set_command_input_inline_data(3, 0x42).unwrap();
    let b = e.as_array();
    let d = CmdQueueEntry::DESC;
    assert_eq!(desc_read(d, b, "input_mailbox_pointer_63_32", 0), 0x1234_5678);
    assert_eq!(desc_read(d, b, "input_mailbox_pointer_31_9", 0), 0x7f_ffff);
    assert_eq!(desc_read(d, b, "ownership", 0), 1);
    assert_eq!(desc_read(d, b, "signature", 0), 0xab);
    assert_eq!(desc_read(d, b, "command_input_inline_data", 3), 0x42);
    // The kernel's layout: pointer high dword at byte 8, inline data from byte 16, ownership the last bit.
    assert_eq!(b[8..12], [0x12, 0x34, 0x56, 0x78]);
    assert_eq!(b[16 + 3], 0x42);
    assert_eq!(b[63] & 1, 1);
    assert_eq!(e.command_input_inline_data_bytes()[3], 0x42);
    e.command_input_inline_data_bytes_mut()[4] = 7;
    assert_eq!(e.command_input_inline_data(4), Some(7));
    // Reading through the descriptor and through the accessor agree on arbitrary bytes, too.
    let mut raw_bytes = [0u8; 64];
    for (i, x) in raw_bytes.iter_mut().enumerate() {
        *x = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    let e = CmdQueueEntry(raw_bytes);
    assert_eq!(u64::from(e.input_mailbox_pointer_31_9()), desc_read(d, &raw_bytes, "input_mailbox_pointer_31_9", 0));
    assert_eq!(u64::from(e.signature()), desc_read(d, &raw_bytes, "signature", 0));
    assert_eq!(u64::from(e.ownership()), desc_read(d, &raw_bytes, "ownership", 0));
}

#[test]
fn cmd_hca_cap_accessors_agree_with_descriptors() {
    let mut c = CmdHcaCap::new();
    c.set_log_max_qp(0x1f);
    c.set_uctx_cap(UctxCap::from_bits_retain(0x8000_0004));
    assert_eq!(desc_read(CmdHcaCap::DESC, &c.0, "log_max_qp", 0), 0x1f);
    assert_eq!(desc_read(CmdHcaCap::DESC, &c.0, "uctx_cap", 0), 0x8000_0004);
    assert_eq!(c.log_max_qp(), 0x1f);
    // log_max_qp is bits 0x9b..0xa0: the low 5 bits of dword 4.
    assert_eq!(c.0[19], 0x1f);
}

// ---------------------------------------------------------------------------------------------------------
// Builders, enums, flags, arrays.

const DOWN: PaosReg = PaosReg::new().with_local_port(1).with_admin_status(PortStatus::DOWN).with_ase(true);
const ENTRY: CmdQueueEntry = CmdQueueEntry::new().with_command_input_inline_data([0x11; 16]).with_ownership(true);
const IN: QueryHcaCapIn = QueryHcaCapIn::new().with_opcode(0x100).with_op_mod(1);

#[test]
fn const_builders_work_in_const_items() {
    assert_eq!(DOWN.local_port(), 1);
    assert_eq!(DOWN.admin_status(), PortStatus::DOWN);
    assert!(DOWN.ase());
    assert_eq!(DOWN.as_array()[..3], [0, 1, 0x02]);
    assert_eq!(ENTRY.command_input_inline_data(15), Some(0x11));
    assert!(ENTRY.ownership());
    assert_eq!(IN.opcode(), 0x100);
    assert_eq!(IN.0[..2], [0x01, 0x00]);
}

#[test]
fn open_enums_keep_unknown_values() {
    let p = PaosReg::new().with_oper_status(PortStatus(9));
    assert_eq!(p.oper_status(), PortStatus(9));
    assert!(!p.oper_status().is_known());
    assert_eq!(p.oper_status().name(), None);
    assert_eq!(PortStatus::UP.name(), Some("up"));
    let dbg = format!("{:?}", PortStatus(9));
    assert!(dbg.contains("0x9"), "{dbg}");
    assert_eq!(format!("{:?}", PortStatus::DOWN), "down");
    assert_eq!(u8::from(PortStatus(9)), 9);
}

#[test]
fn flag_sets_keep_unknown_bits() {
    let f = UctxCap::from_bits_retain(0x8000_0001);
    assert_eq!(f.bits(), 0x8000_0001);
    assert!(f.contains(UctxCap::RAW_TX));
    let c = CmdHcaCap::new().with_uctx_cap(f);
    assert_eq!(c.uctx_cap().bits(), 0x8000_0001);
    let dbg = format!("{:?}", f);
    assert!(dbg.contains("raw_tx") && dbg.contains("0x80000000"), "{dbg}");
}

#[test]
fn arrays_are_checked() {
    let mut e = CmdQueueEntry::new();
    assert_eq!(e.command_input_inline_data(15), Some(0));
    assert_eq!(e.command_input_inline_data(16), None);
    assert_eq!(e.command_input_inline_data(usize::MAX), None);
    assert_eq!(e.set_command_input_inline_data(16, 1), Err(OutOfRange { index: 16, len: 16 }));
    assert_eq!(e, CmdQueueEntry::new());
    // Descriptors refuse too.
    let f = CmdQueueEntry::DESC.field("command_input_inline_data").unwrap();
    assert!(f.read(&e.0, 16).is_none());
    assert!(f.write(&mut e.0, 16, 1).is_none());
    assert!(f.read(&e.0[..10], 0).is_none(), "an element outside the bytes is None");
}

// ---------------------------------------------------------------------------------------------------------
// Nesting, tails, Debug.

#[test]
fn nested_layouts_are_zero_copy() {
    let mut out = QueryHcaCapOut::new();
    out.capability_mut().cmd_hca_cap_mut().set_log_max_qp(0x11);
    let byte = QueryHcaCapOut::FIELD_CAPABILITY.offset / 8 + CmdHcaCap::FIELD_LOG_MAX_QP.offset / 8;
    assert_eq!(out.as_array()[byte], 0x11);
    assert_eq!(out.capability().cmd_hca_cap().log_max_qp(), 0x11);
    // Writing the parent's bytes shows through the nested view.
    let mut bytes = *out.as_array();
    bytes[byte] = 0x0a;
    let out2 = QueryHcaCapOut(bytes);
    assert_eq!(out2.capability().cmd_hca_cap().log_max_qp(), 0x0a);
    // The view is the parent's memory, not a copy.
    let parent = out.as_array().as_ptr() as usize;
    let child = out.capability() as *const HcaCapUnion as usize;
    assert_eq!(child - parent, QueryHcaCapOut::FIELD_CAPABILITY.offset / 8);
}

#[test]
fn tails_follow_the_fixed_part() {
    assert_eq!(ManagePagesIn::len_with_pas(0), ManagePagesIn::SIZE);
    assert_eq!(ManagePagesIn::len_with_pas(3), 16 + 3 * 8);
    let mut msg = vec![0u8; ManagePagesIn::len_with_pas(3)];
    ManagePagesIn::set_tail_pas(&mut msg, 2, 0x1122_3344_5566_7788).unwrap();
    assert_eq!(msg[32..40], [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    assert_eq!(ManagePagesIn::tail_pas(&msg, 2), Some(0x1122_3344_5566_7788));
    assert_eq!(ManagePagesIn::tail_pas(&msg, 0), Some(0));
    assert_eq!(ManagePagesIn::tail_pas(&msg, 3), None);
    assert_eq!(ManagePagesIn::tail_pas(&msg, usize::MAX), None);
    assert!(ManagePagesIn::set_tail_pas(&mut msg, 3, 1).is_err());
    assert_eq!(ManagePagesIn::tail_pas_len(msg.len()), 3);
    assert!(msg[..32].iter().all(|&b| b == 0));
    assert!(ManagePagesIn::DESC.tail().is_some());
}

#[test]
fn signed_fields_sign_extend() {
    let mut q = QueryPagesOut::new();
    q.set_num_pages(-5);
    assert_eq!(q.num_pages(), -5);
    assert_eq!(desc_read(QueryPagesOut::DESC, &q.0, "num_pages", 0), 0xffff_fffb);
}

#[test]
fn debug_shows_field_names() {
    let s = format!("{:?}", DOWN);
    for needle in ["paos_reg", "local_port", "admin_status", "down", "ase: true"] {
        assert!(s.contains(needle), "{needle} not in {s}");
    }
    assert!(!s.contains("reserved_at"), "reserved gaps are left out: {s}");
    let v = format!("{:?}", DOWN.view());
    assert_eq!(v, s);
}

// ---------------------------------------------------------------------------------------------------------
// Catalogue and commands.

#[test]
fn catalog_look_ups() {
    assert_eq!(catalog::layout("paos_reg").unwrap().size_bits, 0x80);
    assert!(catalog::layout("no_such_layout").is_none());
    assert_eq!(catalog::command(0x100).unwrap().name, "QUERY_HCA_CAP");
    assert!(catalog::command(0xdead).is_none());
    assert_eq!(catalog::command_by_name("query_hca_cap").unwrap().opcode, 0x100);
    assert_eq!(catalog::register_by_name("PAOS").unwrap().id, 0x5006);
    assert_eq!(catalog::register_by_name("paos").unwrap().layout.unwrap().name, "paos_reg");
    assert_eq!(catalog::cap_by_name("general").unwrap().cap_type, 0);
    assert_eq!(catalog::min_scope(0x805, 0), Some(Scope::Configuration));
    assert_eq!(catalog::min_scope(0x805, 1), Some(Scope::DebugReadOnly));
    assert_eq!(catalog::min_scope(0x100, 0), Some(Scope::Configuration));
    assert_eq!(catalog::min_scope(0x108, 0), None, "MANAGE_PAGES is not allowed through fwctl");
    assert_eq!(catalog::min_scope(0xdead, 0), None);
}

#[test]
fn command_trait_ties_opcode_and_layouts() {
    assert_eq!(<QueryHcaCap as Command>::OPCODE, 0x100);
    assert_eq!(<QueryHcaCap as Command>::DESC.opcode, 0x100);
    let d = <QueryHcaCap as Command>::DESC;
    assert!(core::ptr::eq(d.input.unwrap(), <<QueryHcaCap as Command>::In as Layout>::DESC));
    assert!(core::ptr::eq(d.output.unwrap(), <<QueryHcaCap as Command>::Out as Layout>::DESC));
    assert_eq!(<QueryHcaCap as Command>::In::SIZE, QueryHcaCapIn::SIZE);
    assert_eq!(<PaosReg as AccessRegister>::ID, 0x5006);
    assert_eq!(<CmdHcaCap as CapabilityPage>::CAP_TYPE, 0);
}

#[test]
fn wide_fields_that_are_not_whole_bytes_do_not_decode_as_bytes() {
    // cmd_hca_cap_2 has a reserved gap of 324 bits: not a byte string, so it has no byte value.
    let l = catalog::layout("cmd_hca_cap_2").unwrap();
    let odd = l.fields.iter().find(|f| f.width > 64 && f.width % 8 != 0).expect("a non-byte wide gap");
    let buf = vec![0xffu8; l.size_bytes()];
    assert!(odd.read(&buf, 0).is_none(), "{} ({} bits)", odd.name, odd.width);
    // A whole-byte string still decodes, and only from a buffer that holds it entirely.
    let adapter = catalog::layout("query_adapter_param_block").unwrap();
    let vsd = adapter.field("vsd").unwrap();
    assert_eq!(vsd.width, 8);
    let psid = adapter.field("vsd_contd_psid").unwrap();
    let full = vec![0x41u8; adapter.size_bytes()];
    assert!(matches!(psid.read(&full, 0), Some(Value::Uint(0x41))));
}
