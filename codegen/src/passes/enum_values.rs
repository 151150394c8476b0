//! Enum and flag values: unique, and fitting both the enum's width and every field that holds them.

use std::collections::HashMap;

use crate::diag::{Diags, Loc};
use crate::ir::Spec;

/// Runs the pass.
pub fn run(spec: &Spec, diags: &mut Diags) {
    for (_, e) in spec.enums() {
        if e.bits == 0 || e.bits > 64 {
            diags.error(&spec.files, &e.loc, format!("`{}` has {} bits; 1 to 64 are allowed", e.name, e.bits));
            continue;
        }
        let mut seen: HashMap<u64, (&str, &Loc)> = HashMap::new();
        for v in &e.values {
            if let Some(bit) = v.bit {
                if bit >= e.bits {
                    diags.error(
                        &spec.files,
                        &v.loc,
                        format!("flag `{}` is bit {bit}, outside the {} bits of `{}`", v.name, e.bits, e.name),
                    );
                    continue;
                }
            } else if e.bits < 64 && v.value >> e.bits != 0 {
                diags.error(
                    &spec.files,
                    &v.loc,
                    format!("value `{}` = {:#x} does not fit the {} bits of `{}`", v.name, v.value, e.bits, e.name),
                );
            }
            if let Some((first, _)) = seen.get(&v.value) {
                diags.error(
                    &spec.files,
                    &v.loc,
                    format!("`{}` repeats the value {:#x} of `{first}` in `{}`", v.name, v.value, e.name),
                );
            } else {
                seen.insert(v.value, (&v.name, &v.loc));
            }
        }
    }
    let enums = spec.enum_map();
    for (_, l) in spec.layouts() {
        for f in &l.fields {
            for name in [&f.enum_, &f.flags].into_iter().flatten() {
                if let Some((_, e)) = enums.get(name.as_str()) {
                    if f.width > e.bits {
                        diags.error(
                            &spec.files,
                            &f.loc,
                            format!(
                                "field `{}` is {} bits wide but `{}` holds only {} bits",
                                f.name, f.width, e.name, e.bits
                            ),
                        );
                    }
                    for v in &e.values {
                        if f.width < 64 && v.value >> f.width != 0 {
                            diags.warning(
                                &spec.files,
                                &f.loc,
                                format!(
                                    "value `{}` of `{}` does not fit the {} bits of field `{}`",
                                    v.name, e.name, f.width, f.name
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}
