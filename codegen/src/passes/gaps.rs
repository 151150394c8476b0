//! Gaps: an explicit `at` beyond the running offset leaves bits no field covers.

use crate::diag::Diags;
use crate::ir::{LayoutKind, Spec};

/// Runs the pass.
pub fn run(spec: &Spec, diags: &mut Diags) {
    for (_, l) in spec.layouts() {
        for f in &l.fields {
            if let Some(at) = f.at {
                if at > f.running && l.kind == LayoutKind::Struct {
                    diags.error(
                        &spec.files,
                        &f.loc,
                        format!(
                            "field `{}` is declared at bit {at:#x} but the previous field ends at {:#x}: a gap of {} bits (add `{{ reserved = {:#x} }}`)",
                            f.name,
                            f.running,
                            at - f.running,
                            at - f.running
                        ),
                    );
                }
                if at != 0 && l.kind == LayoutKind::Union {
                    diags.error(
                        &spec.files,
                        &f.loc,
                        format!("union member `{}` must start at bit 0, not {at:#x}", f.name),
                    );
                }
            }
        }
    }
}
