//! Unknown references: nested layouts, enums, flag sets, command/register/cap layouts; and nesting cycles.

use std::collections::HashMap;

use crate::diag::Diags;
use crate::ir::{FieldTy, Layout, Spec};

/// Runs the pass.
pub fn run(spec: &Spec, diags: &mut Diags) {
    let layouts = spec.layout_map();
    let enums = spec.enum_map();
    let files = &spec.files;
    for (_, l) in spec.layouts() {
        for f in &l.fields {
            if let FieldTy::Layout(n) = &f.ty {
                if !layouts.contains_key(n.as_str()) {
                    diags.error(files, &f.loc, format!("field `{}` refers to unknown layout `{n}`", f.name));
                }
            }
            for (name, want_flags) in [(&f.enum_, false), (&f.flags, true)] {
                let Some(name) = name else { continue };
                let what = if want_flags { "flag set" } else { "enum" };
                let a_what = if want_flags { "a flag set" } else { "an enum" };
                match enums.get(name.as_str()) {
                    None => diags.error(files, &f.loc, format!("field `{}` refers to unknown {what} `{name}`", f.name)),
                    Some((_, e)) if e.is_flags != want_flags => {
                        let is = if e.is_flags { "a flag set" } else { "an enum" };
                        diags.error(files, &f.loc, format!("field `{}`: `{name}` is {is}, not {a_what}", f.name));
                    }
                    Some(_) => {}
                }
            }
        }
    }
    for (_, c) in spec.commands() {
        for r in [&c.input, &c.output].into_iter().flatten() {
            if !layouts.contains_key(r.name.as_str()) {
                diags.error(files, &r.loc, format!("command `{}` refers to unknown layout `{}`", c.name, r.name));
            }
        }
    }
    for (kind, list) in [("register", spec.registers().collect::<Vec<_>>()), ("cap", spec.caps().collect())] {
        for (_, r) in list {
            if let Some(x) = &r.layout {
                if !layouts.contains_key(x.name.as_str()) {
                    diags.error(files, &x.loc, format!("{kind} `{}` refers to unknown layout `{}`", r.name, x.name));
                }
            }
        }
    }
    // Nesting cycles: a layout may not contain itself, directly or not.
    let mut state: HashMap<&str, u8> = HashMap::new();
    for (_, l) in spec.layouts() {
        visit(l, &layouts, &mut state, spec, diags);
    }
}

fn visit<'a>(
    l: &'a Layout,
    layouts: &HashMap<&'a str, (usize, &'a Layout)>,
    state: &mut HashMap<&'a str, u8>,
    spec: &Spec,
    diags: &mut Diags,
) {
    match state.get(l.name.as_str()) {
        Some(2) => return,
        Some(1) => {
            diags.error(&spec.files, &l.loc, format!("layout `{}` contains itself", l.name));
            return;
        }
        _ => {}
    }
    state.insert(&l.name, 1);
    for f in &l.fields {
        if let FieldTy::Layout(n) = &f.ty {
            if let Some((_, sub)) = layouts.get(n.as_str()) {
                if state.get(sub.name.as_str()) == Some(&1) {
                    diags.error(&spec.files, &f.loc, format!("field `{}` makes layout `{n}` contain itself", f.name));
                } else {
                    visit(sub, layouts, state, spec, diags);
                }
            }
        }
    }
    state.insert(&l.name, 2);
}
