//! Variable-length tails: last field of a struct, whole bytes; a layout with a tail is nested only as the
//! last field of a struct (its tail then runs on past the end, as in the kernel) or as a tail element.

use std::collections::HashSet;

use crate::diag::Diags;
use crate::ir::{Count, FieldTy, LayoutKind, Spec};

/// Runs the pass.
pub fn run(spec: &Spec, diags: &mut Diags) {
    let mut with_tail = HashSet::new();
    for (_, l) in spec.layouts() {
        let n = l.fields.len();
        for (i, f) in l.fields.iter().enumerate() {
            if f.count != Count::Tail {
                continue;
            }
            with_tail.insert(l.name.as_str());
            if l.kind == LayoutKind::Union {
                diags.error(&spec.files, &f.loc, format!("union `{}` cannot have a tail (`{}`)", l.name, f.name));
            }
            if i + 1 != n {
                diags.error(&spec.files, &f.loc, format!("tail `{}` must be the last field of `{}`", f.name, l.name));
            }
            if f.offset % 8 != 0 || f.width % 8 != 0 {
                diags.error(
                    &spec.files,
                    &f.loc,
                    format!(
                        "tail `{}` must start on a byte and have whole-byte elements ({} bits at {:#x})",
                        f.name, f.width, f.offset
                    ),
                );
            }
            if f.ty == FieldTy::Bits && f.width > 64 {
                diags.error(&spec.files, &f.loc, format!("tail `{}` elements hold at most 64 bits", f.name));
            }
        }
    }
    for (_, l) in spec.layouts() {
        let last = l.fields.len().saturating_sub(1);
        for (i, f) in l.fields.iter().enumerate() {
            if let FieldTy::Layout(n) = &f.ty {
                let last_of_struct = i == last && l.kind == LayoutKind::Struct && f.count == Count::One;
                if with_tail.contains(n.as_str()) && f.count != Count::Tail && !last_of_struct {
                    diags.error(
                        &spec.files,
                        &f.loc,
                        format!("field `{}` nests `{n}`, which has a variable tail; only the last field of a struct or a tail may hold it", f.name),
                    );
                }
            }
        }
    }
}
