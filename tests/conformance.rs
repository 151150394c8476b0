//! Conformance of the generated PRM tables with independent reference data.
//!
//! `tests/data/prm-layouts.json` (see `tests/data/README.md`) was extracted from the Linux kernel's
//! `mlx5_ifc.h`, `cmd.c` and the fwctl mlx5 driver and checked with a C compiler. This test compares with it:
//!
//! - every generated layout ([`mlx5_cmdif::prm::LAYOUTS`]): size, and each non-reserved field's offset,
//!   width, count / element width and nested type; the reserved bits of our layout must be exactly the bits
//!   of the reference's reserved fields (coverage, not names: the kernel has typos such as `resereved_at_54`);
//! - every opcode of the reference has a command ([`mlx5_cmdif::prm::COMMANDS`]);
//! - every command's fwctl scope against the fwctl allow-list;
//! - every access-register id of the reference has a register ([`mlx5_cmdif::prm::REGISTERS`]).
//!
//! Intentional deviations are listed below, each with its reason; a listed deviation that is no longer
//! needed fails the test too, so the lists stay honest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use mlx5_cmdif::command::Scope;
use mlx5_cmdif::layout::{Count, FieldDesc, FieldKind, LayoutDesc};
use mlx5_cmdif::prm::{COMMANDS, LAYOUTS, REGISTERS};
use serde_json::Value;

/// Unions of which we generate only some members. Every member we do have must still match the reference.
const PARTIAL_UNIONS: &[(&str, &str)] = &[
    (
        "hca_cap_union",
        "its `fpga_cap` member is defined in mlx5_ifc_fpga.h, which the reference does not cover (the member is \
         `unresolved` there); every other capability page is a member",
    ),
    (
        "ports_control_registers_document",
        "its `fpga_access_reg`, `fpga_cap_bits` and `fpga_ctrl_bits` members are defined in mlx5_ifc_fpga.h, which \
         the reference does not cover (`unresolved` there); every other register is a member",
    ),
];

/// Plain fields wider than 32 bits that are neither a 64-bit word on a dword nor whole bytes: the generator
/// gives them as arrays of one-bit elements (element 0 = the field's most significant bit), since no Rust
/// integer holds them; the reference has one field of the whole width.
const BIT_ARRAYS: &[(&str, &str, &str)] = &[
    ("qcam_access_reg_cap_mask", "qcam_access_reg_cap_mask_127_to_20", REASON_BITS),
    ("qcam_qos_feature_cap_mask", "qcam_qos_feature_cap_mask_127_to_1", REASON_BITS),
];

const REASON_BITS: &str = "a 108- or 127-bit mask is no integer: it is generated as one-bit elements, MSB first";

/// Whether a generated layout is the named form of an anonymous union or struct (`<parent>_anon<n>_auto`),
/// reached through the field `anon<n>`; the reference keeps these inline (`"kind": "anon_union"`).
fn is_anon_layout(name: &str) -> bool {
    name.ends_with("_auto") && name.contains("_anon")
}

/// Our fields with anonymous unions and structs flattened into their members (offsets made absolute), as
/// [`flatten`] does for the reference.
fn flatten_ours(fields: &'static [FieldDesc], base: usize, out: &mut Vec<FieldDesc>) {
    for f in fields {
        if let FieldKind::Layout(l) = f.kind {
            if is_anon_layout(l.name) && f.name.starts_with("anon") {
                flatten_ours(l.fields, base + f.offset, out);
                continue;
            }
        }
        out.push(FieldDesc { offset: base + f.offset, ..*f });
    }
}

/// Fields the kernel defines outside `mlx5_ifc.h` (so the reference has reserved bits there): each must lie
/// entirely inside the reference's reserved bits, which then no longer count as reserved.
const EXTRA_FIELDS: &[(&str, &[&str], &str)] = &[(
    "initial_seg",
    &[
        "cmd_exec_to_multiplier",
        "cmd_exec_to_value",
        "cmd_q_init_to_multiplier",
        "cmd_q_init_to_value",
        "internal_timer_h",
        "internal_timer_l",
    ],
    "the kernel's `struct mlx5_init_seg` (include/linux/mlx5/device.h) names these dwords of the \
     initialization segment; mlx5_ifc.h leaves them reserved",
)];

/// Opcodes the reference's fwctl allow-list omits but the facts file (`cmdif-facts.md` §8) lists at
/// `debug_read_only`; our specs follow the facts file.
const SCOPE_FROM_FACTS: &[(&str, &str)] = &[
    ("QUERY_DIAGNOSTIC_COUNTERS", REASON_FACTS),
    ("QUERY_NIC_VPORT_CONTEXT", REASON_FACTS),
    ("QUERY_FLOW_GROUP", REASON_FACTS),
    ("QUERY_HCA_VPORT_PKEY", REASON_FACTS),
    ("QUERY_RQT", REASON_FACTS),
    ("QUERY_TIR", REASON_FACTS),
    ("QUERY_VNIC_ENV", REASON_FACTS),
    ("QUERY_WOL_ROL", REASON_FACTS),
    ("USER_QUERY_XRQ_DC_PARAMS_ENTRY", REASON_FACTS),
];

const REASON_FACTS: &str = "the fwctl mlx5 allow-list in cmdif-facts.md §8 lists it at debug_read_only \
                            (a read-only query); the extracted JSON omits it";

fn reference() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/prm-layouts.json");
    let text = std::fs::read_to_string(path).expect("tests/data/prm-layouts.json");
    serde_json::from_str(&text).expect("valid JSON")
}

/// A reference field, with anonymous unions and structs flattened into their members.
#[derive(Debug, Clone)]
struct RefField {
    name: String,
    kind: String,
    offset: u64,
    /// Total width (`None` for an unresolved member).
    width: Option<u64>,
    elem_width: Option<u64>,
    count: Option<u64>,
    flexible: bool,
    ty: Option<String>,
}

fn flatten(fields: &[Value], out: &mut Vec<RefField>) {
    for f in fields {
        let kind = f["kind"].as_str().unwrap_or_default().to_string();
        if kind == "anon_union" || kind == "anon_struct" {
            flatten(f["fields"].as_array().map_or(&[][..], Vec::as_slice), out);
            continue;
        }
        out.push(RefField {
            name: f["name"].as_str().unwrap_or_default().to_string(),
            kind,
            offset: f["offset"].as_u64().expect("offset"),
            width: f["width"].as_u64(),
            elem_width: f["elem_width"].as_u64(),
            count: f["count"].as_u64(),
            flexible: f["flexible"].as_bool().unwrap_or(false) || f["flex"].as_bool().unwrap_or(false),
            ty: f["type"].as_str().map(str::to_string),
        });
    }
}

/// The kernel names reserved gaps `reserved_at_<hex>`, sometimes `reserved_<n>`, once `resereved_at_54`.
fn is_reserved_name(name: &str) -> bool {
    name.starts_with("reserved") || name.starts_with("resereved")
}

fn set_bits(bits: &mut BTreeSet<u64>, offset: u64, width: u64) {
    bits.extend(offset..offset + width);
}

/// Bit ranges of a set, for readable messages.
fn ranges(bits: &BTreeSet<u64>) -> String {
    let mut s = String::new();
    let mut it = bits.iter().copied().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while it.peek() == Some(&(end + 1)) {
            end = it.next().unwrap_or(end);
        }
        let _ = write!(s, "{start:#x}..{:#x} ", end + 1);
    }
    s
}

fn compare_field(ours: &FieldDesc, r: &RefField) -> Vec<String> {
    let mut bad = Vec::new();
    let (off, w) = (ours.offset as u64, ours.width as u64);
    if off != r.offset {
        bad.push(format!("offset {off:#x}, reference {:#x}", r.offset));
    }
    match ours.count {
        Count::One => {
            if r.count.is_some() || r.flexible {
                bad.push(format!("a single value, reference is an array (count {:?})", r.count));
            }
            if r.width != Some(w) {
                bad.push(format!("width {w:#x}, reference {:?}", r.width));
            }
        }
        Count::Fixed(n) => {
            if r.count != Some(n as u64) || r.flexible {
                bad.push(format!("count {n}, reference {:?}", r.count));
            }
            if r.elem_width != Some(w) {
                bad.push(format!("element width {w:#x}, reference {:?}", r.elem_width));
            }
        }
        Count::Tail => {
            if !r.flexible {
                bad.push(format!("a variable tail, reference is not flexible (count {:?})", r.count));
            }
            if r.elem_width != Some(w) {
                bad.push(format!("tail element width {w:#x}, reference {:?}", r.elem_width));
            }
        }
    }
    match ours.kind {
        FieldKind::Layout(l) => {
            if !matches!(r.kind.as_str(), "struct" | "union") || r.ty.as_deref() != Some(l.name) {
                bad.push(format!("nested `{}`, reference {} {:?}", l.name, r.kind, r.ty));
            }
        }
        _ => {
            if r.kind != "bits" {
                bad.push(format!("plain bits, reference {} {:?}", r.kind, r.ty));
            }
        }
    }
    bad
}

fn compare_layout(ours: &LayoutDesc, reference: &Value, partial: bool, extra: &[&str]) -> Vec<String> {
    let mut bad = Vec::new();
    let want_size = reference["size_bits"].as_u64().expect("size_bits");
    if ours.size_bits as u64 != want_size {
        bad.push(format!("size {:#x} bits, reference {want_size:#x}", ours.size_bits));
    }
    let mut refs = Vec::new();
    flatten(reference["fields"].as_array().expect("fields"), &mut refs);
    let by_name: BTreeMap<&str, &RefField> =
        refs.iter().filter(|f| !is_reserved_name(&f.name)).map(|f| (f.name.as_str(), f)).collect();

    let mut ours_names = BTreeSet::new();
    let mut ours_reserved = BTreeSet::new();
    let mut extra_bits = BTreeSet::new();
    let mut flat = Vec::new();
    flatten_ours(ours.fields, 0, &mut flat);
    for f in &flat {
        if f.is_reserved() {
            set_bits(&mut ours_reserved, f.offset as u64, f.total_bits() as u64);
            continue;
        }
        if extra.contains(&f.name) {
            if by_name.contains_key(f.name) {
                bad.push(format!("field `{}` is listed in EXTRA_FIELDS but the reference has it now", f.name));
            }
            set_bits(&mut extra_bits, f.offset as u64, f.total_bits() as u64);
            continue;
        }
        ours_names.insert(f.name);
        match by_name.get(f.name) {
            None => bad.push(format!("field `{}` is not in the reference", f.name)),
            Some(r) if BIT_ARRAYS.iter().any(|(l, n, _)| *l == ours.name && *n == f.name) => {
                if f.count != Count::Fixed(r.width.unwrap_or(0) as usize) || f.width != 1 || r.offset != f.offset as u64
                {
                    bad.push(format!("field `{}`: not the one-bit elements of the reference's field", f.name));
                }
            }
            Some(r) => {
                for e in compare_field(f, r) {
                    bad.push(format!("field `{}`: {e}", f.name));
                }
            }
        }
    }
    let missing: Vec<&str> = by_name.keys().copied().filter(|n| !ours_names.contains(n)).collect();
    if partial {
        if missing.is_empty() {
            bad.push("listed in PARTIAL_UNIONS but has every member: remove it from the list".into());
        }
    } else {
        for n in missing {
            bad.push(format!("reference field `{n}` is missing"));
        }
    }

    let mut ref_reserved = BTreeSet::new();
    for r in refs.iter().filter(|f| is_reserved_name(&f.name)) {
        assert_eq!(r.kind, "bits", "{}: reserved field `{}` is not bits", ours.name, r.name);
        let total = r.width.expect("reserved width");
        set_bits(&mut ref_reserved, r.offset, total);
    }
    let outside: BTreeSet<u64> = extra_bits.difference(&ref_reserved).copied().collect();
    if !outside.is_empty() {
        bad.push(format!("EXTRA_FIELDS use bits the reference does not reserve: [{}]", ranges(&outside).trim_end()));
    }
    let ref_reserved: BTreeSet<u64> = ref_reserved.difference(&extra_bits).copied().collect();
    if ours_reserved != ref_reserved {
        let extra: BTreeSet<u64> = ours_reserved.difference(&ref_reserved).copied().collect();
        let lacking: BTreeSet<u64> = ref_reserved.difference(&ours_reserved).copied().collect();
        bad.push(format!(
            "reserved bits differ: reserved only here [{}], reserved only in the reference [{}]",
            ranges(&extra).trim_end(),
            ranges(&lacking).trim_end()
        ));
    }
    bad
}

#[test]
fn every_layout_matches_the_reference() {
    let json = reference();
    let layouts = json["layouts"].as_object().expect("layouts");
    let mut bad = Vec::new();
    for l in LAYOUTS.iter() {
        if is_anon_layout(l.name) {
            // Checked through its parent, flattened.
            continue;
        }
        let partial = PARTIAL_UNIONS.iter().any(|(n, _)| *n == l.name);
        let extra = EXTRA_FIELDS.iter().find(|(n, _, _)| *n == l.name).map_or(&[][..], |(_, f, _)| *f);
        match layouts.get(l.name) {
            None => bad.push(format!("{}: not in the reference", l.name)),
            Some(r) => {
                for e in compare_layout(l, r, partial, extra) {
                    bad.push(format!("{}: {e}", l.name));
                }
            }
        }
    }
    for (n, fields, why) in EXTRA_FIELDS {
        assert!(!why.is_empty());
        match LAYOUTS.iter().find(|l| l.name == *n) {
            None => bad.push(format!("{n}: listed in EXTRA_FIELDS but not generated")),
            Some(l) => {
                for f in fields.iter().filter(|f| l.field(f).is_none()) {
                    bad.push(format!("{n}: EXTRA_FIELDS lists `{f}`, which the layout does not have"));
                }
            }
        }
    }
    for (l, f, why) in BIT_ARRAYS {
        assert!(!why.is_empty());
        let ok = LAYOUTS.iter().find(|x| x.name == *l).and_then(|x| x.field(f)).is_some_and(|d| d.width == 1);
        if !ok {
            bad.push(format!("{l}.{f}: listed in BIT_ARRAYS but not generated as one-bit elements"));
        }
    }
    for (n, why) in PARTIAL_UNIONS {
        assert!(!why.is_empty());
        if !LAYOUTS.iter().any(|l| l.name == *n) {
            bad.push(format!("{n}: listed in PARTIAL_UNIONS but not generated"));
        }
    }
    assert!(bad.is_empty(), "{} difference(s) from tests/data/prm-layouts.json:\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn the_comparison_catches_differences() {
    // The checker itself: a wrong offset, width, count, type or reserved gap is reported.
    let json = reference();
    let r = &json["layouts"]["paos_reg"];
    let ours = mlx5_cmdif::prm::PaosReg::DESC;
    assert!(compare_layout(ours, r, false, &[]).is_empty());
    let mut moved = r.clone();
    moved["fields"][1]["offset"] = Value::from(9);
    assert!(compare_layout(ours, &moved, false, &[]).iter().any(|e| e.contains("local_port") && e.contains("offset")));
    let mut resized = r.clone();
    resized["size_bits"] = Value::from(0xa0);
    assert!(compare_layout(ours, &resized, false, &[]).iter().any(|e| e.starts_with("size")));
    let mut unreserved = r.clone();
    unreserved["fields"][2]["name"] = Value::from("swid_hi");
    let errs = compare_layout(ours, &unreserved, false, &[]);
    assert!(errs.iter().any(|e| e.contains("reserved bits differ")), "{errs:?}");
    assert!(errs.iter().any(|e| e.contains("`swid_hi` is missing")), "{errs:?}");
}

#[test]
fn every_reference_opcode_has_a_command() {
    let json = reference();
    let mut bad = Vec::new();
    for (name, op) in json["opcodes"].as_object().expect("opcodes") {
        let op = op.as_u64().expect("opcode");
        if !COMMANDS.iter().any(|c| u64::from(c.opcode) == op) {
            bad.push(format!("{name} ({op:#x}) has no command"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // And COMMANDS is sorted by opcode with no duplicates (the catalog binary-searches it).
    assert!(COMMANDS.windows(2).all(|w| w[0].opcode < w[1].opcode));
}

fn reference_scope(text: &str) -> Vec<(Option<u16>, Scope)> {
    if let Some(s) = Scope::from_name(text) {
        return vec![(None, s)];
    }
    // "configuration (op_mod 0 = write); debug_read_only (op_mod 1 = read)"
    text.split(';')
        .map(|part| {
            let part = part.trim();
            let (scope, rest) = part.split_once(" (op_mod ").expect("op_mod form");
            let n: u16 = rest.split_whitespace().next().and_then(|x| x.parse().ok()).expect("op_mod value");
            (Some(n), Scope::from_name(scope).expect("scope name"))
        })
        .collect()
}

#[test]
fn every_command_has_the_reference_fwctl_scope() {
    let json = reference();
    let opcodes = json["opcodes"].as_object().expect("opcodes");
    let scopes = json["fwctl_min_scope"].as_object().expect("fwctl_min_scope");
    // opcode → rules from the reference (names resolved through the opcode table).
    let mut want: BTreeMap<u16, Vec<(Option<u16>, Scope)>> = BTreeMap::new();
    for (name, s) in scopes {
        let op = opcodes.get(name).and_then(Value::as_u64).unwrap_or_else(|| panic!("{name}: no opcode"));
        want.insert(u16::try_from(op).unwrap(), reference_scope(s.as_str().expect("scope text")));
    }
    let mut bad = Vec::new();
    for c in COMMANDS.iter() {
        let facts = SCOPE_FROM_FACTS.iter().any(|(n, _)| *n == c.name);
        let probe: Vec<u16> = [0u16, 1, 2, 3, 0xffff].into_iter().chain(c.op_mods.iter().map(|m| m.value)).collect();
        match want.get(&c.opcode) {
            Some(rules) => {
                if facts {
                    bad.push(format!("{}: listed in SCOPE_FROM_FACTS but the reference has it now", c.name));
                }
                let default = rules.iter().find(|(m, _)| m.is_none()).map(|(_, s)| *s);
                for &m in &probe {
                    let expect = rules.iter().find(|(x, _)| *x == Some(m)).map(|(_, s)| *s).or(default).or(
                        // Only op_mod forms listed: any other op_mod takes the read (least privileged
                        // non-zero) rule, as the fwctl driver does (`op_mod != 0` → debug_read_only).
                        rules.iter().filter(|(x, _)| x.is_some_and(|x| x != 0)).map(|(_, s)| *s).next(),
                    );
                    if c.scope.min_scope(m) != expect {
                        bad.push(format!(
                            "{} ({:#x}) op_mod {m:#x}: scope {:?}, reference {expect:?}",
                            c.name,
                            c.opcode,
                            c.scope.min_scope(m)
                        ));
                    }
                }
            }
            None if facts => {
                for &m in &probe {
                    if c.scope.min_scope(m) != Some(Scope::DebugReadOnly) {
                        bad.push(format!(
                            "{} op_mod {m:#x}: scope {:?}, facts say debug_read_only",
                            c.name,
                            c.scope.min_scope(m)
                        ));
                    }
                }
            }
            None => {
                for &m in &probe {
                    if let Some(s) = c.scope.min_scope(m) {
                        bad.push(format!(
                            "{} ({:#x}) op_mod {m:#x}: scope {s:?}, but fwctl rejects it",
                            c.name, c.opcode
                        ));
                    }
                }
            }
        }
    }
    for (n, why) in SCOPE_FROM_FACTS {
        assert!(!why.is_empty());
        if !COMMANDS.iter().any(|c| c.name == *n) {
            bad.push(format!("{n}: listed in SCOPE_FROM_FACTS but there is no such command"));
        }
    }
    assert!(bad.is_empty(), "{} difference(s):\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn every_reference_register_id_has_a_register() {
    let json = reference();
    let mut bad = Vec::new();
    for (name, id) in json["access_reg_ids"].as_object().expect("access_reg_ids") {
        let id = id.as_u64().expect("id");
        match REGISTERS.iter().find(|r| u64::from(r.id) == id) {
            None => bad.push(format!("{name} ({id:#x}) has no register")),
            Some(r) if !r.name.eq_ignore_ascii_case(name) => {
                bad.push(format!("{name} ({id:#x}) is called {} here", r.name));
            }
            Some(_) => {}
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn every_reference_layout_is_generated() {
    let json = reference();
    let mut bad = Vec::new();
    for name in json["layouts"].as_object().expect("layouts").keys() {
        if !LAYOUTS.iter().any(|l| l.name == name) {
            bad.push(format!("{name}: in the reference but not generated"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn registers_and_commands_have_their_layouts() {
    // Every register with a `<name>_reg` layout and every command with `<name>_in` / `<name>_out` has it
    // attached.
    let mut bad = Vec::new();
    for r in REGISTERS.iter() {
        let want = format!("{}_reg", r.name.to_ascii_lowercase());
        if LAYOUTS.iter().any(|l| l.name == want) && r.layout.map(|l| l.name) != Some(want.as_str()) {
            bad.push(format!("register {}: layout {:?}, want {want}", r.name, r.layout.map(|l| l.name)));
        }
    }
    for c in COMMANDS.iter() {
        for (suffix, got) in [("in", c.input), ("out", c.output)] {
            let want = format!("{}_{suffix}", c.name.to_ascii_lowercase());
            if LAYOUTS.iter().any(|l| l.name == want) && got.is_none() {
                bad.push(format!("command {}: no {suffix} layout, but {want} exists", c.name));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
