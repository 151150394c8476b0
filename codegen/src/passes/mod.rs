//! Validation passes, one concern each. Each reads the whole [`Spec`] and reports what is wrong; none
//! changes it. The emitter runs only when no pass reported an error.

use crate::diag::Diags;
use crate::ir::Spec;

mod enum_values;
mod gaps;
mod names;
mod overlaps;
mod references;
mod sizes;
mod straddle;
mod tails;

/// A validation pass.
pub type Pass = fn(&Spec, &mut Diags);

/// Every pass, in the order they run.
pub const ALL: &[(&str, Pass)] = &[
    ("references", references::run),
    ("names", names::run),
    ("sizes", sizes::run),
    ("gaps", gaps::run),
    ("overlaps", overlaps::run),
    ("straddle", straddle::run),
    ("tails", tails::run),
    ("enum_values", enum_values::run),
];

/// Runs every pass.
pub fn run_all(spec: &Spec, diags: &mut Diags) {
    for (_, pass) in ALL {
        pass(spec, diags);
    }
}
