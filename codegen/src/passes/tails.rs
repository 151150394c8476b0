//! Variable-length tails: last field of a struct (or every member of a union: a choice between tails), whole
//! bytes or single bits; a layout with a tail is never the element of a fixed array.

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
            // A union may be a choice between variable tails (the kernel's `rqtc`), never mix one with fixed members.
            if l.kind == LayoutKind::Union && l.fields.iter().any(|g| g.count != Count::Tail) {
                diags.error(&spec.files, &f.loc, format!("union `{}` cannot have a tail (`{}`)", l.name, f.name));
            }
            if i + 1 != n && l.kind == LayoutKind::Struct {
                diags.error(&spec.files, &f.loc, format!("tail `{}` must be the last field of `{}`", f.name, l.name));
            }
            // Whole bytes, or single bits (the kernel's bare `u8 x[]`).
            if f.offset % 8 != 0 || (f.width % 8 != 0 && f.width != 1) {
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
        for f in &l.fields {
            if let FieldTy::Layout(n) = &f.ty {
                // The kernel also nests such layouts in unions and, zero-length, in the middle of a struct
                // (`menu_resource_dump_response.menu`); an array of them is never meaningful.
                if with_tail.contains(n.as_str()) && matches!(f.count, Count::Fixed(_)) {
                    diags.error(
                        &spec.files,
                        &f.loc,
                        format!("field `{}` is an array of `{n}`, which has a variable tail; only a single field or a tail may hold it", f.name),
                    );
                }
            }
        }
    }
}
