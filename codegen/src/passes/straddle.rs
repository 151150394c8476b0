//! Dword straddling and alignment: what the accessors can reach.
//!
//! A field of at most 32 bits must stay inside one big-endian dword (as `MLX5_GET`/`MLX5_SET` require)
//! unless it says `straddle = true`. A wider field must be 64 bits starting on a dword, or start and end on
//! byte boundaries (a byte string); an enum, flag set or signed value wider than 32 bits must be 64 bits on a
//! dword (a byte string has no such type). Every element of an array or a tail obeys the same rule. Nested
//! layouts start on a byte boundary. Reserved gaps may be anything.

use crate::diag::Diags;
use crate::ir::{Count, FieldTy, Spec};

/// Runs the pass.
pub fn run(spec: &Spec, diags: &mut Diags) {
    for (_, l) in spec.layouts() {
        for f in &l.fields {
            match &f.ty {
                FieldTy::Reserved => {}
                FieldTy::Layout(n) => {
                    if f.offset % 8 != 0 {
                        diags.error(
                            &spec.files,
                            &f.loc,
                            format!(
                                "nested layout `{}` ({n}) starts at bit {:#x}, not on a byte boundary",
                                f.name, f.offset
                            ),
                        );
                    }
                }
                FieldTy::Bits => {
                    // Where element `i` starts, `None` past `u64` (then the sizes pass has already failed).
                    let elem = |i: u64| i.checked_mul(f.width).and_then(|x| x.checked_add(f.offset));
                    // Alignment repeats every 32 bits, so 32 elements tell everything about any number of
                    // them (a tail is checked as far as that, too: every element must be reachable).
                    let elems = match f.count {
                        Count::One => 1,
                        Count::Fixed(n) => n.min(32),
                        Count::Tail => 32,
                    };
                    let typed = f.enum_.is_some() || f.flags.is_some() || f.signed;
                    if f.width > 32 {
                        let u64_ok = f.width == 64;
                        if f.straddle {
                            if f.width > 64 {
                                diags.error(
                                    &spec.files,
                                    &f.loc,
                                    format!("field `{}`: `straddle` fields hold at most 64 bits", f.name),
                                );
                            }
                            continue;
                        }
                        if typed && !u64_ok {
                            diags.error(
                                &spec.files,
                                &f.loc,
                                format!(
                                    "field `{}` is {} bits wide: an enum, flag set or signed value holds at most 32 bits, or exactly 64",
                                    f.name, f.width
                                ),
                            );
                            continue;
                        }
                        for i in 0..elems {
                            let Some(off) = elem(i) else { break };
                            let on_dword = u64_ok && off % 32 == 0;
                            let ok = on_dword || (!typed && off % 8 == 0 && f.width % 8 == 0);
                            if !ok {
                                let msg = if typed {
                                    format!(
                                        "field `{}` (64 bits at bit {off:#x}) holds an enum, flag set or signed value but does not start on a dword",
                                        f.name
                                    )
                                } else {
                                    format!(
                                        "field `{}` ({} bits at bit {off:#x}) is neither 64 bits on a dword nor whole bytes; only reserved gaps may be",
                                        f.name, f.width
                                    )
                                };
                                diags.error(&spec.files, &f.loc, msg);
                                break;
                            }
                        }
                    } else if !f.straddle {
                        for i in 0..elems {
                            let Some(off) = elem(i) else { break };
                            if off % 32 + f.width > 32 {
                                let what = if i == 0 { String::new() } else { format!(" element {i}") };
                                diags.error(
                                    &spec.files,
                                    &f.loc,
                                    format!(
                                        "field `{}`{what} ({} bits at bit {off:#x}) straddles dwords {} and {} (add `straddle = true` if the PRM really does this)",
                                        f.name,
                                        f.width,
                                        off / 32,
                                        off / 32 + 1
                                    ),
                                );
                                break;
                            }
                        }
                    }
                }
            }
        }
    }
}
