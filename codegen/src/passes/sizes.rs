//! Sizes: the declared size of every layout equals what its fields cover, and is whole dwords.

use crate::diag::Diags;
use crate::ir::{LayoutKind, Spec};

/// Runs the pass.
pub fn run(spec: &Spec, diags: &mut Diags) {
    for (_, l) in spec.layouts() {
        if l.size == 0 && l.tail().is_none() {
            diags.error(&spec.files, &l.size_loc, format!("layout `{}` has size 0", l.name));
            continue;
        }
        if l.size % 32 != 0 && !(l.subdword && l.size % 8 == 0) {
            diags.error(
                &spec.files,
                &l.size_loc,
                format!(
                    "layout `{}` has size {:#x} bits, not a whole number of dwords (`subdword = true` allows whole bytes)",
                    l.name, l.size
                ),
            );
        }
        if l.computed_size != l.size {
            let how = match l.kind {
                LayoutKind::Struct => "its fields end at",
                LayoutKind::Union => "its largest member is",
            };
            diags.error(
                &spec.files,
                &l.size_loc,
                format!("layout `{}` is declared {:#x} bits but {how} {:#x}", l.name, l.size, l.computed_size),
            );
        }
    }
}
