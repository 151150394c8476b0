//! Merging an upstream [`Header`] into the existing specs.
//!
//! - Layouts: the field order, widths, counts and nested types come from upstream. What was added by hand
//!   is kept by field name: `doc`, `enum`, `flags`, `signed`, `straddle`, `at`; the layout's `doc` too.
//!   A hand field that upstream does not have survives when it lies inside upstream's reserved bits (the
//!   reserved gap is split around it, e.g. the `initial_seg` fields from `device.h`). Layouts upstream does
//!   not have stay as they are, in their file.
//! - Enums, flag sets, commands (scopes, op_mod lists, docs), registers and capability pages that exist are
//!   kept. Upstream opcodes without a command get one (scope from the source's fwctl table, else `none`);
//!   commands get `X_in`/`X_out` and registers `x_reg` when those layouts exist and nothing is set yet.
//!   Upstream enumerators become `[[enum]]`s grouped by their common prefix, unless a spec already names them.
//! - New items go to the spec file of their area ([`area`]); existing ones stay where they are, except that a
//!   command of `opcodes.toml` that gains layouts moves to its layouts' file.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use super::model::{HCount, HLayout, HTy, Header};
use crate::diag::Loc;
use crate::ir::{
    Command, Count, Enum, EnumValue, Field, FieldTy, Layout, LayoutKind, Module, Numbered, Ref, Scope, Spec,
};
use crate::names::type_name;

/// The spec file (stem) a new layout or command belongs to, from its name.
pub fn area(name: &str) -> &'static str {
    let toks: Vec<&str> = name.split('_').collect();
    let has = |list: &[&str]| toks.iter().any(|t| list.contains(t));
    let contains = |list: &[&str]| list.iter().any(|p| name.contains(p));
    if name.starts_with("cmd_hca_cap")
        || name.ends_with("_cap")
        || name.ends_with("_caps")
        || name.ends_with("_capabilities")
        || contains(&["flow_table_prop_layout", "flow_table_fields_supported", "hca_cap_union", "header_modify_cap"])
    {
        return "caps";
    }
    if has(&["uctx", "umem"]) {
        return "uctx";
    }
    if contains(&["diagnostic", "resource_dump", "tracer", "debug", "dump_", "_dump"]) {
        return "diag";
    }
    if has(&["crypto", "dek", "ipsec", "macsec", "tls", "psp", "encryption", "aso", "import", "kek"]) {
        return "crypto";
    }
    if name.ends_with("_reg")
        || contains(&["_reg_", "cntrs_grp", "_cntrs", "ports_control", "pcam_", "mcam_", "qcam_", "_register"])
        || has(&["pddr", "mcqi", "mtrc", "mcia", "pmlp", "pplm", "pbmc", "pptb", "ppcnt", "bufferx", "module"])
    {
        return "registers";
    }
    if has(&["flow", "fte", "ft", "match", "definer", "reformat", "modify", "action", "dest", "rtc", "ste", "stc"])
        || contains(&["header_modify", "_icm_", "sampler"])
    {
        return "flow";
    }
    if has(&["esw", "eswitch", "vport", "vhca", "sf", "lag", "vnic", "l2", "roce", "host", "function", "functions"]) {
        return "vport";
    }
    if has(&[
        "qp", "qpc", "dct", "dctc", "srq", "srqc", "xrq", "xrqc", "rmp", "rmpc", "xrc", "mad", "ads", "pkey", "gid",
    ]) || contains(&[
        "rst2init",
        "init2rtr",
        "rtr2rts",
        "rts2rts",
        "sqerr2rts",
        "sqd2rts",
        "init2init",
        "2err",
        "2rst",
    ]) {
        return "qp";
    }
    if has(&["cq", "cqc", "eq", "eqc", "eqe", "cqe", "msix"]) {
        return "cq_eq";
    }
    if has(&["sq", "sqc", "rq", "rqc", "rqt", "rqtc", "tir", "tirc", "tis", "tisc", "wq", "rq_num", "rq_vhca"]) {
        return "transport";
    }
    if has(&["mkey", "mkc", "psv", "umr", "klm", "memic", "mtt", "pd", "xrcd", "uar", "icm", "page"]) {
        return "mkey";
    }
    if has(&["qos", "scheduling", "rate", "tsar", "pp", "cong", "counter", "counters", "monitor", "delay"]) {
        return "qos";
    }
    if has(&["obj", "general", "virtio", "geneve", "vdpa", "tlv", "nvme", "nvmf", "emulation", "dpa", "regexp"]) {
        return "objects";
    }
    if has(&["hca", "issi", "pages", "adapter", "init", "teardown", "driver", "transport", "nop", "boot"]) {
        return "hca";
    }
    "misc"
}

fn dummy() -> Loc {
    Loc { file: 0, start: 0 }
}

/// One layout merged: upstream shape, hand annotations.
fn merge_layout(h: &HLayout, old: Option<&Layout>) -> Layout {
    let by_name: HashMap<&str, &Field> = old
        .map(|o| o.fields.iter().filter(|f| !f.is_reserved()).map(|f| (f.name.as_str(), f)).collect())
        .unwrap_or_default();
    let upstream_names: HashSet<&str> = h.fields.iter().map(|f| f.name.as_str()).collect();
    // Hand fields upstream does not have, by offset (only those inside upstream's reserved bits survive).
    let mut extras: Vec<&Field> = old
        .map(|o| o.fields.iter().filter(|f| !f.is_reserved() && !upstream_names.contains(f.name.as_str())).collect())
        .unwrap_or_default();
    extras.sort_by_key(|f| f.offset);
    // Explicit `at` of hand-written reserved gaps, kept when a gap still starts there.
    let reserved_at: HashMap<u64, u64> = old
        .map(|o| o.fields.iter().filter(|f| f.is_reserved()).filter_map(|f| f.at.map(|a| (a, a))).collect())
        .unwrap_or_default();
    let mut fields = Vec::new();
    let mk = |name: String, offset: u64, width: u64, count: Count, ty: FieldTy| Field {
        name,
        loc: dummy(),
        offset,
        running: offset,
        width,
        count,
        ty,
        at: None,
        enum_: None,
        flags: None,
        signed: false,
        straddle: false,
        doc: None,
    };
    for f in &h.fields {
        let count = match f.count {
            HCount::One => Count::One,
            HCount::Fixed(n) => Count::Fixed(n),
            HCount::Tail => Count::Tail,
        };
        match &f.ty {
            HTy::Reserved => {
                // Split around hand fields that live inside this gap (struct layouts only).
                let (start, end) = (f.offset, f.offset + f.width);
                let mut pos = start;
                if !h.union {
                    for e in extras
                        .iter()
                        .filter(|e| e.count == Count::One && e.offset >= start && e.offset + e.total_bits() <= end)
                    {
                        if e.offset < pos {
                            continue;
                        }
                        if e.offset > pos {
                            fields.push(mk(String::new(), pos, e.offset - pos, Count::One, FieldTy::Reserved));
                        }
                        fields.push((*e).clone());
                        pos = e.offset + e.total_bits();
                    }
                }
                if end > pos {
                    let mut r = mk(String::new(), pos, end - pos, Count::One, FieldTy::Reserved);
                    r.at = reserved_at.get(&pos).copied();
                    fields.push(r);
                }
            }
            ty => {
                let fty = match ty {
                    HTy::Layout(n) => FieldTy::Layout(n.clone()),
                    _ => FieldTy::Bits,
                };
                // A plain field wider than 32 bits that is neither a 64-bit word on a dword nor whole bytes
                // (the 108- and 127-bit masks of QCAM) is reached as an array of one-bit elements, MSB first.
                let odd_wide = fty == FieldTy::Bits
                    && count == Count::One
                    && f.width > 32
                    && !(f.width == 64 && f.offset % 32 == 0)
                    && !(f.width % 8 == 0 && f.offset % 8 == 0);
                let (width, count) = if odd_wide { (1, Count::Fixed(f.width)) } else { (f.width, count) };
                let mut x = mk(f.name.clone(), f.offset, width, count, fty.clone());
                if let Some(o) = by_name.get(f.name.as_str()) {
                    x.doc = o.doc.clone();
                    x.at = o.at;
                    x.straddle = o.straddle;
                    if fty == FieldTy::Bits && o.ty == FieldTy::Bits {
                        x.enum_ = o.enum_.clone();
                        x.flags = o.flags.clone();
                        x.signed = o.signed;
                    }
                }
                // Upstream fields that cross a dword (the kernel accessors cannot reach them either) are
                // marked, so that the generator accepts them.
                if fty == FieldTy::Bits && f.width <= 32 && count == Count::One {
                    let elems = match count {
                        Count::Fixed(n) => n.min(32),
                        _ => 1,
                    };
                    if (0..elems).any(|i| {
                        let o = f.offset + i * f.width;
                        o % 32 + f.width > 32
                    }) && count == Count::One
                    {
                        x.straddle = true;
                    }
                }
                fields.push(x);
            }
        }
    }
    let size = h.size;
    Layout {
        name: h.name.clone(),
        loc: dummy(),
        kind: if h.union { LayoutKind::Union } else { LayoutKind::Struct },
        size,
        size_loc: dummy(),
        doc: old.and_then(|o| o.doc.clone()),
        subdword: !size.is_multiple_of(32),
        fields,
        computed_size: size,
    }
}

/// Command names the kernel writes differently from their layouts (`2ERR_QP` → `qp_2err_in`).
fn layout_stems(cmd: &str) -> Vec<String> {
    let lower = cmd.to_ascii_lowercase();
    let mut v = vec![lower.clone()];
    for (pre, repl) in [("2err_", "2err"), ("2rst_", "2rst")] {
        if let Some(rest) = lower.strip_prefix(pre) {
            v.push(format!("{rest}_{repl}"));
        }
    }
    if lower == "access_reg" {
        v.push("access_register".into());
    }
    v
}

/// A group of enumerators: its name, and `(value name, kernel name, value)` of each.
type Group = (String, Vec<(String, String, u64)>);

/// Groups a C enum's values by their common name prefix: `(group name, [(value name, kernel name, value)])`.
fn group_enum(values: &[(String, u64)]) -> Vec<Group> {
    let toks = |s: &str| s.split('_').map(str::to_string).collect::<Vec<_>>();
    let common = |a: &[String], b: &[String]| a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let mut out = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let first = toks(&values[i].0);
        // The prefix is what the first two share (at least `MLX5_X`), and never the whole name.
        let mut plen = match values.get(i + 1) {
            Some((n, _)) => common(&first, &toks(n)),
            None => 0,
        };
        if plen < 2 {
            plen = first.len().saturating_sub(1).max(1);
        }
        plen = plen.min(first.len().saturating_sub(1));
        let prefix = &first[..plen];
        let mut j = i;
        let mut group = Vec::new();
        while j < values.len() {
            let t = toks(&values[j].0);
            if t.len() <= plen || t[..plen] != *prefix {
                break;
            }
            group.push((t[plen..].join("_").to_ascii_lowercase(), values[j].0.clone(), values[j].1));
            j += 1;
        }
        if group.is_empty() {
            let t = &values[i].0;
            group.push((t.to_ascii_lowercase(), t.clone(), values[i].1));
            j = i + 1;
        }
        let name = prefix.iter().skip(1).map(|s| s.to_ascii_lowercase()).collect::<Vec<_>>().join("_");
        out.push((if name.is_empty() { "mlx5".into() } else { name }, group));
        i = j;
    }
    out
}

/// Merges `header` into the existing specs `old`. Returns the spec files to write, `(stem, module)` in
/// stem order, with the existing files' leading comments.
pub fn merge(header: &Header, old: &Spec) -> Vec<(String, Module)> {
    let mut modules: BTreeMap<String, Module> = BTreeMap::new();
    for (i, f) in old.files.iter().enumerate() {
        let mut m = old.modules.get(i).cloned().unwrap_or_default();
        m.layouts.clear();
        modules.insert(f.stem.clone(), m);
    }
    let stem_of = |i: usize| old.files.get(i).map_or_else(String::new, |f| f.stem.clone());
    let old_layouts = old.layout_map();
    let upstream: HashMap<&str, &HLayout> = header.layouts.iter().map(|l| (l.name.as_str(), l)).collect();

    // Layouts: existing ones in their file and order (merged when upstream has them), then new ones.
    for (i, l) in old.layouts() {
        let merged = match upstream.get(l.name.as_str()) {
            Some(h) => merge_layout(h, Some(l)),
            None => l.clone(),
        };
        modules.entry(stem_of(i)).or_default().layouts.push(merged);
    }
    for h in &header.layouts {
        if old_layouts.contains_key(h.name.as_str()) {
            continue;
        }
        // An anonymous union goes with its parent.
        let owner = h.name.split("_anon").next().unwrap_or(&h.name);
        let stem = match old_layouts.get(owner) {
            Some((i, _)) if h.name.ends_with("_auto") && h.name.contains("_anon") => stem_of(*i),
            _ => area(owner).to_string(),
        };
        modules.entry(stem).or_default().layouts.push(merge_layout(h, None));
    }
    let layout_file: HashMap<String, String> =
        modules.iter().flat_map(|(stem, m)| m.layouts.iter().map(move |l| (l.name.clone(), stem.clone()))).collect();

    // Commands.
    let mut by_name: HashSet<String> = HashSet::new();
    let mut by_op: HashSet<u64> = HashSet::new();
    for m in modules.values() {
        for c in &m.commands {
            by_name.insert(c.name.clone());
            by_op.insert(c.opcode);
        }
    }
    let mut new_cmds = Vec::new();
    for (n, op) in &header.opcodes {
        if by_name.contains(n) || by_op.contains(op) {
            continue;
        }
        by_name.insert(n.clone());
        by_op.insert(*op);
        let scope = header.scopes.get(n).and_then(|s| Scope::parse(s)).unwrap_or(Scope::None);
        new_cmds.push(Command {
            name: n.clone(),
            loc: dummy(),
            opcode: *op,
            opcode_loc: dummy(),
            input: None,
            output: None,
            scope,
            doc: None,
            op_mods: Vec::new(),
        });
    }
    modules.entry("opcodes".into()).or_default().commands.append(&mut new_cmds);
    let mut moves: Vec<(String, Command)> = Vec::new();
    for (stem, m) in &mut modules {
        let mut keep = Vec::new();
        for mut c in std::mem::take(&mut m.commands) {
            for s in layout_stems(&c.name) {
                if c.input.is_none() && layout_file.contains_key(&format!("{s}_in")) {
                    c.input = Some(Ref { name: format!("{s}_in"), loc: dummy() });
                }
                if c.output.is_none() && layout_file.contains_key(&format!("{s}_out")) {
                    c.output = Some(Ref { name: format!("{s}_out"), loc: dummy() });
                }
            }
            let home = c.input.as_ref().or(c.output.as_ref()).and_then(|r| layout_file.get(&r.name));
            match home {
                Some(h) if stem == "opcodes" && h != stem => moves.push((h.clone(), c)),
                _ => keep.push(c),
            }
        }
        m.commands = keep;
    }
    for (h, c) in moves {
        modules.entry(h).or_default().commands.push(c);
    }
    for m in modules.values_mut() {
        m.commands.sort_by_key(|c| c.opcode);
    }

    // Registers.
    let mut reg_names: HashSet<String> = HashSet::new();
    let mut reg_ids: HashSet<u64> = HashSet::new();
    for m in modules.values() {
        for r in &m.registers {
            reg_names.insert(r.name.to_ascii_uppercase());
            reg_ids.insert(r.number);
        }
    }
    for (n, id) in &header.registers {
        if reg_names.contains(&n.to_ascii_uppercase()) || reg_ids.contains(id) {
            continue;
        }
        reg_names.insert(n.to_ascii_uppercase());
        reg_ids.insert(*id);
        modules.entry("registers".into()).or_default().registers.push(Numbered {
            name: n.clone(),
            loc: dummy(),
            number: *id,
            number_loc: dummy(),
            layout: None,
            doc: None,
        });
    }
    for m in modules.values_mut() {
        for r in &mut m.registers {
            let want = format!("{}_reg", r.name.to_ascii_lowercase());
            if r.layout.is_none() && layout_file.contains_key(&want) {
                r.layout = Some(Ref { name: want, loc: dummy() });
            }
        }
    }

    // Enums: kernel names not yet in any spec, grouped by prefix.
    let mut known_kernel: HashSet<String> = HashSet::new();
    let mut taken: HashSet<String> = HashSet::new();
    for m in modules.values() {
        for e in &m.enums {
            taken.insert(type_name(&e.name));
            for v in &e.values {
                if let Some(k) = &v.kernel {
                    known_kernel.insert(k.clone());
                }
            }
        }
        for l in &m.layouts {
            taken.insert(type_name(&l.name));
        }
        for c in &m.commands {
            taken.insert(type_name(&c.name.to_ascii_lowercase()));
            taken.insert(format!("{}OpMod", type_name(&c.name.to_ascii_lowercase())));
        }
    }
    for t in ["Opcode", "RegisterId", "CapType"] {
        taken.insert(t.into());
    }
    let mut new_enums = Vec::new();
    for e in &header.enums {
        let values: Vec<(String, u64)> = e.values.iter().filter(|(n, _)| !known_kernel.contains(n)).cloned().collect();
        for (gname, group) in group_enum(&values) {
            let mut name = gname.clone();
            if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
                name = format!("k_{name}");
            }
            while taken.contains(&type_name(&name)) {
                name.push_str("_values");
            }
            taken.insert(type_name(&name));
            let mut seen_v = HashSet::new();
            let mut seen_n = HashSet::new();
            let mut vals = Vec::new();
            for (vn, kn, v) in group {
                let mut vn = if vn.starts_with(|c: char| c.is_ascii_alphanumeric()) { vn } else { format!("v{vn}") };
                if vn == "desc" {
                    vn.push('_');
                }
                if !seen_v.insert(v) || !seen_n.insert(vn.clone()) {
                    continue;
                }
                vals.push(EnumValue { name: vn, value: v, bit: None, kernel: Some(kn), doc: None, loc: dummy() });
            }
            let max = vals.iter().map(|v| v.value).max().unwrap_or(0);
            let bits = u64::from(64 - max.leading_zeros()).max(1);
            let first = vals.first().and_then(|v| v.kernel.clone()).unwrap_or_default();
            let prefix = first.strip_suffix(&vals.first().map(|v| v.name.to_ascii_uppercase()).unwrap_or_default());
            new_enums.push(Enum {
                name,
                loc: dummy(),
                bits,
                doc: Some(format!("Kernel enumerators `{}*`.", prefix.unwrap_or(&first))),
                values: vals,
                is_flags: false,
            });
        }
    }
    if !new_enums.is_empty() {
        modules.entry("enums".into()).or_default().enums.extend(new_enums);
    }
    modules.into_iter().filter(|(_, m)| !is_empty(m)).collect()
}

fn is_empty(m: &Module) -> bool {
    m.layouts.is_empty() && m.enums.is_empty() && m.commands.is_empty() && m.registers.is_empty() && m.caps.is_empty()
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn num(v: u64) -> String {
    if v < 10 {
        v.to_string()
    } else {
        format!("{v:#x}")
    }
}

/// Writes a module as a spec file (TOML), after `preamble` (comment lines).
pub fn write(preamble: &str, m: &Module) -> String {
    let mut s = String::new();
    s.push_str(preamble);
    for e in &m.enums {
        let _ = writeln!(s, "\n[[{}]]", if e.is_flags { "flags" } else { "enum" });
        let _ = writeln!(s, "name = {}", q(&e.name));
        let _ = writeln!(s, "bits = {}", e.bits);
        if let Some(d) = &e.doc {
            let _ = writeln!(s, "doc = {}", q(d));
        }
        s.push_str("values = [\n");
        for v in &e.values {
            let mut parts = vec![format!("name = {}", q(&v.name))];
            match v.bit {
                Some(b) if e.is_flags => parts.push(format!("bit = {b}")),
                _ => parts.push(format!("value = {}", num(v.value))),
            }
            if let Some(k) = &v.kernel {
                parts.push(format!("kernel = {}", q(k)));
            }
            if let Some(d) = &v.doc {
                parts.push(format!("doc = {}", q(d)));
            }
            let _ = writeln!(s, "  {{ {} }},", parts.join(", "));
        }
        s.push_str("]\n");
    }
    for l in &m.layouts {
        let _ = writeln!(s, "\n[[layout]]\nname = {}", q(&l.name));
        if l.kind == LayoutKind::Union {
            s.push_str("kind = \"union\"\n");
        }
        let _ = writeln!(s, "size = {:#x}", l.size);
        if l.subdword {
            s.push_str("subdword = true\n");
        }
        if let Some(d) = &l.doc {
            let _ = writeln!(s, "doc = {}", q(d));
        }
        s.push_str("fields = [\n");
        for f in &l.fields {
            let mut p = Vec::new();
            match &f.ty {
                FieldTy::Reserved => p.push(format!("reserved = {}", num(f.width))),
                FieldTy::Bits => {
                    p.push(format!("name = {}", q(&f.name)));
                    p.push(format!("bits = {}", num(f.width)));
                }
                FieldTy::Layout(n) => {
                    p.push(format!("name = {}", q(&f.name)));
                    p.push(format!("layout = {}", q(n)));
                }
            }
            match f.count {
                Count::One => {}
                Count::Fixed(n) => p.push(format!("count = {n}")),
                Count::Tail => p.push("tail = true".into()),
            }
            if let Some(a) = f.at {
                p.push(format!("at = {a:#x}"));
            }
            if let Some(e) = &f.enum_ {
                p.push(format!("enum = {}", q(e)));
            }
            if let Some(e) = &f.flags {
                p.push(format!("flags = {}", q(e)));
            }
            if f.signed {
                p.push("signed = true".into());
            }
            if f.straddle {
                p.push("straddle = true".into());
            }
            if let Some(d) = &f.doc {
                p.push(format!("doc = {}", q(d)));
            }
            let _ = writeln!(s, "  {{ {} }},", p.join(", "));
        }
        s.push_str("]\n");
    }
    for c in &m.commands {
        let _ = writeln!(s, "\n[[command]]\nname = {}\nopcode = {:#x}", q(&c.name), c.opcode);
        if let Some(r) = &c.input {
            let _ = writeln!(s, "in = {}", q(&r.name));
        }
        if let Some(r) = &c.output {
            let _ = writeln!(s, "out = {}", q(&r.name));
        }
        let _ = writeln!(s, "scope = {}", q(c.scope.name()));
        if let Some(d) = &c.doc {
            let _ = writeln!(s, "doc = {}", q(d));
        }
        if !c.op_mods.is_empty() {
            s.push_str("op_mod = [\n");
            for o in &c.op_mods {
                let mut p = vec![format!("name = {}", q(&o.name)), format!("value = {}", num(o.value))];
                if let Some(sc) = o.scope {
                    p.push(format!("scope = {}", q(sc.name())));
                }
                if let Some(d) = &o.doc {
                    p.push(format!("doc = {}", q(d)));
                }
                let _ = writeln!(s, "  {{ {} }},", p.join(", "));
            }
            s.push_str("]\n");
        }
    }
    for (what, key, list) in [("register", "id", &m.registers), ("cap", "type", &m.caps)] {
        for r in list {
            let _ = writeln!(s, "\n[[{what}]]\nname = {}\n{key} = {:#x}", q(&r.name), r.number);
            if let Some(l) = &r.layout {
                let _ = writeln!(s, "layout = {}", q(&l.name));
            }
            if let Some(d) = &r.doc {
                let _ = writeln!(s, "doc = {}", q(d));
            }
        }
    }
    s
}

/// The leading comment lines of a spec file (kept when the file is rewritten).
pub fn preamble(text: &str) -> String {
    let mut s = String::new();
    for line in text.lines() {
        if line.starts_with('#') {
            s.push_str(line);
            s.push('\n');
        } else {
            break;
        }
    }
    s
}
