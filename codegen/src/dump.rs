//! `dump --json`: every layout, field, command, register and capability page, for other tools.

use serde_json::{json, Map, Value};

use crate::ir::{Count, FieldTy, Spec};

/// The JSON document (offsets and widths in bits, PRM numbering).
pub fn to_json(spec: &Spec) -> Value {
    let mut layouts = Map::new();
    for (_, l) in spec.layouts() {
        let fields: Vec<Value> = l
            .fields
            .iter()
            .map(|f| {
                let mut o = Map::new();
                o.insert("name".into(), json!(f.name));
                o.insert("offset".into(), json!(f.offset));
                o.insert("width".into(), json!(f.total_bits()));
                match f.count {
                    Count::One => {}
                    Count::Fixed(n) => {
                        o.insert("count".into(), json!(n));
                        o.insert("elem_width".into(), json!(f.width));
                    }
                    Count::Tail => {
                        o.insert("tail".into(), json!(true));
                        o.insert("elem_width".into(), json!(f.width));
                    }
                }
                match &f.ty {
                    FieldTy::Reserved => {
                        o.insert("reserved".into(), json!(true));
                    }
                    FieldTy::Layout(n) => {
                        o.insert("type".into(), json!(n));
                    }
                    FieldTy::Bits => {}
                }
                if let Some(e) = &f.enum_ {
                    o.insert("enum".into(), json!(e));
                }
                if let Some(e) = &f.flags {
                    o.insert("flags".into(), json!(e));
                }
                if f.signed {
                    o.insert("signed".into(), json!(true));
                }
                Value::Object(o)
            })
            .collect();
        let kind = if l.kind == crate::ir::LayoutKind::Union { "union" } else { "struct" };
        layouts.insert(l.name.clone(), json!({ "kind": kind, "size_bits": l.size, "fields": fields }));
    }
    let mut commands = Map::new();
    let mut cmds: Vec<_> = spec.commands().map(|(_, c)| c).collect();
    cmds.sort_by_key(|c| c.opcode);
    for c in cmds {
        let mut o = Map::new();
        o.insert("opcode".into(), json!(c.opcode));
        o.insert("scope".into(), json!(c.scope.name()));
        if let Some(r) = &c.input {
            o.insert("in".into(), json!(r.name));
        }
        if let Some(r) = &c.output {
            o.insert("out".into(), json!(r.name));
        }
        if !c.op_mods.is_empty() {
            let mods: Vec<Value> = c
                .op_mods
                .iter()
                .map(|m| {
                    let mut x = json!({ "name": m.name, "value": m.value });
                    if let (Some(s), Some(obj)) = (m.scope, x.as_object_mut()) {
                        obj.insert("scope".into(), json!(s.name()));
                    }
                    x
                })
                .collect();
            o.insert("op_mod".into(), Value::Array(mods));
        }
        commands.insert(c.name.clone(), Value::Object(o));
    }
    let numbered = |list: Vec<&crate::ir::Numbered>, key: &str| {
        let mut m = Map::new();
        for r in list {
            let mut o = Map::new();
            o.insert(key.into(), json!(r.number));
            if let Some(l) = &r.layout {
                o.insert("layout".into(), json!(l.name));
            }
            m.insert(r.name.clone(), Value::Object(o));
        }
        Value::Object(m)
    };
    let mut enums = Map::new();
    for (_, e) in spec.enums() {
        let values: Map<String, Value> = e.values.iter().map(|v| (v.name.clone(), json!(v.value))).collect();
        enums.insert(e.name.clone(), json!({ "flags": e.is_flags, "bits": e.bits, "values": values }));
    }
    json!({
        "layouts": layouts,
        "commands": commands,
        "registers": numbered(spec.registers().map(|(_, r)| r).collect(), "id"),
        "caps": numbered(spec.caps().map(|(_, r)| r).collect(), "type"),
        "enums": enums,
    })
}
