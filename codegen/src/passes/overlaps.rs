//! Overlaps: an explicit `at` before the running offset, or a field running past the end of its layout.

use crate::diag::Diags;
use crate::ir::{LayoutKind, Spec};

/// Runs the pass.
pub fn run(spec: &Spec, diags: &mut Diags) {
    for (_, l) in spec.layouts() {
        for f in &l.fields {
            if let Some(at) = f.at {
                if at < f.running && l.kind == LayoutKind::Struct {
                    diags.error(
                        &spec.files,
                        &f.loc,
                        format!(
                            "field `{}` is declared at bit {at:#x} but the previous field ends at {:#x}: it overlaps {} bits",
                            f.name,
                            f.running,
                            f.running - at
                        ),
                    );
                }
            }
            let end = f.offset.saturating_add(f.total_bits());
            if end > l.size && l.computed_size == end {
                // Only the field that crosses the declared end is named; the size pass reports the total.
                if f.offset < l.size || l.kind == LayoutKind::Union {
                    diags.error(
                        &spec.files,
                        &f.loc,
                        format!(
                            "field `{}` ends at bit {end:#x}, past the end of `{}` ({:#x} bits)",
                            f.name, l.name, l.size
                        ),
                    );
                }
            }
        }
    }
}
