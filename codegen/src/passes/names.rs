//! Duplicate and unusable names: layouts, fields, enums and their values, commands, opcodes, registers
//! and their ids, capability pages and their types, and Rust type names that would collide.

use std::collections::HashMap;

use crate::diag::{Diags, Loc};
use crate::ir::Spec;
use crate::names::{is_snake, type_name};

fn dup<'a, K: std::hash::Hash + Eq>(
    seen: &mut HashMap<K, &'a Loc>,
    key: K,
    loc: &'a Loc,
    spec: &Spec,
    diags: &mut Diags,
    what: impl FnOnce() -> String,
) {
    if let Some(first) = seen.get(&key) {
        let f = spec.files.get(first.file).map(|f| {
            let (l, _) = f.line_col(first.start);
            format!("{}:{l}", f.display)
        });
        diags.error(&spec.files, loc, format!("{} (first defined at {})", what(), f.unwrap_or_default()));
    } else {
        seen.insert(key, loc);
    }
}

/// Runs the pass.
pub fn run(spec: &Spec, diags: &mut Diags) {
    let files = &spec.files;
    // Rust type names share one namespace: layouts, enums, flag sets, commands and op_mod enums.
    let mut types: HashMap<String, &Loc> = HashMap::new();
    let mut layouts: HashMap<&str, &Loc> = HashMap::new();
    for (_, l) in spec.layouts() {
        if !is_snake(&l.name) {
            diags.error(files, &l.loc, format!("layout name `{}` is not snake_case", l.name));
        }
        dup(&mut layouts, l.name.as_str(), &l.loc, spec, diags, || format!("duplicate layout `{}`", l.name));
        dup(&mut types, type_name(&l.name), &l.loc, spec, diags, || {
            format!("layout `{}` has the same Rust type name `{}` as another item", l.name, type_name(&l.name))
        });
        let mut fields: HashMap<&str, &Loc> = HashMap::new();
        let mut methods: HashMap<String, &str> =
            crate::emit::LAYOUT_METHODS.iter().map(|m| (m.to_string(), "")).collect();
        for f in l.fields.iter().filter(|f| !f.is_reserved()) {
            for m in crate::emit::accessor_names(f) {
                match methods.get(m.as_str()) {
                    Some(&other) if other != f.name => {
                        let by = if other.is_empty() { "every layout".to_string() } else { format!("field `{other}`") };
                        diags.error(
                            files,
                            &f.loc,
                            format!(
                                "field `{}` of `{}` needs the method `{m}`, which {by} already has",
                                f.name, l.name
                            ),
                        );
                        break;
                    }
                    _ => {
                        methods.insert(m, &f.name);
                    }
                }
            }
            if !crate::names::is_field_name(&f.name) {
                diags.error(files, &f.loc, format!("field name `{}` is not snake_case", f.name));
            }
            dup(&mut fields, f.name.as_str(), &f.loc, spec, diags, || {
                format!("duplicate field `{}` in layout `{}`", f.name, l.name)
            });
        }
    }
    let mut enums: HashMap<&str, &Loc> = HashMap::new();
    for (_, e) in spec.enums() {
        if !is_snake(&e.name) {
            diags.error(files, &e.loc, format!("enum name `{}` is not snake_case", e.name));
        }
        dup(&mut enums, e.name.as_str(), &e.loc, spec, diags, || format!("duplicate enum or flag set `{}`", e.name));
        dup(&mut types, type_name(&e.name), &e.loc, spec, diags, || {
            format!("`{}` has the same Rust type name `{}` as another item", e.name, type_name(&e.name))
        });
        let mut values: HashMap<String, &Loc> = HashMap::new();
        for v in &e.values {
            if !is_snake(&v.name) {
                diags.error(files, &v.loc, format!("value name `{}` is not snake_case", v.name));
            }
            dup(&mut values, v.name.to_ascii_uppercase(), &v.loc, spec, diags, || {
                format!("duplicate value name `{}` in `{}`", v.name, e.name)
            });
            if v.name.eq_ignore_ascii_case("desc") {
                diags.error(
                    files,
                    &v.loc,
                    format!("value name `{}` in `{}` would clash with the constant `DESC`", v.name, e.name),
                );
            }
        }
    }
    let mut commands: HashMap<&str, &Loc> = HashMap::new();
    let mut opcodes: HashMap<u64, &Loc> = HashMap::new();
    for (_, c) in spec.commands() {
        if !c.name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') || c.name.is_empty() {
            diags.error(files, &c.loc, format!("command name `{}` is not UPPER_SNAKE_CASE", c.name));
        }
        dup(&mut commands, c.name.as_str(), &c.loc, spec, diags, || format!("duplicate command `{}`", c.name));
        dup(&mut opcodes, c.opcode, &c.opcode_loc, spec, diags, || {
            format!("opcode {:#x} of `{}` is already used", c.opcode, c.name)
        });
        if c.opcode > u64::from(u16::MAX) {
            diags.error(files, &c.opcode_loc, format!("opcode {:#x} does not fit 16 bits", c.opcode));
        }
        if c.input.is_some() && c.output.is_some() {
            let t = type_name(&c.name.to_ascii_lowercase());
            dup(&mut types, t.clone(), &c.loc, spec, diags, || {
                format!("command `{}` has the same Rust type name `{t}` as another item", c.name)
            });
        }
        if !c.op_mods.is_empty() {
            let t = format!("{}OpMod", type_name(&c.name.to_ascii_lowercase()));
            dup(&mut types, t.clone(), &c.loc, spec, diags, || {
                format!("op_mod type `{t}` of `{}` collides with another item", c.name)
            });
        }
        let mut mods: HashMap<String, &Loc> = HashMap::new();
        let mut vals: HashMap<u64, &Loc> = HashMap::new();
        for o in &c.op_mods {
            dup(&mut mods, o.name.to_ascii_uppercase(), &o.loc, spec, diags, || {
                format!("duplicate op_mod name `{}` in `{}`", o.name, c.name)
            });
            dup(&mut vals, o.value, &o.loc, spec, diags, || {
                format!("duplicate op_mod value {:#x} in `{}`", o.value, c.name)
            });
            if !is_snake(&o.name) {
                diags.error(files, &o.loc, format!("op_mod name `{}` is not snake_case", o.name));
            }
            if o.name.eq_ignore_ascii_case("desc") {
                diags.error(
                    files,
                    &o.loc,
                    format!("op_mod name `{}` in `{}` would clash with the constant `DESC`", o.name, c.name),
                );
            }
            if o.value > u64::from(u16::MAX) {
                diags.error(files, &o.loc, format!("op_mod {:#x} does not fit 16 bits", o.value));
            }
        }
    }
    for (kind, list) in [("register", spec.registers().collect::<Vec<_>>()), ("cap", spec.caps().collect())] {
        let mut names: HashMap<&str, &Loc> = HashMap::new();
        let mut numbers: HashMap<u64, &Loc> = HashMap::new();
        for (_, r) in list {
            dup(&mut names, r.name.as_str(), &r.loc, spec, diags, || format!("duplicate {kind} `{}`", r.name));
            dup(&mut numbers, r.number, &r.number_loc, spec, diags, || {
                format!("{kind} number {:#x} of `{}` is already used", r.number, r.name)
            });
            if r.number > u64::from(u16::MAX) {
                diags.error(files, &r.number_loc, format!("{kind} number {:#x} does not fit 16 bits", r.number));
            }
        }
    }
}
