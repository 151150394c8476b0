//! # mlx5-cmdif
//!
//! The firmware command interface of NVIDIA/Mellanox ConnectX ("mlx5") adapters, for any host: a kernel
//! driver, a UEFI pre-boot tool, or a userspace diagnostics program. `#![no_std]`, no allocator.
//!
//! Layers, each depending only on those before it:
//!
//! - [`prm`]: the PRM layouts (commands, registers, capability pages, queue entry, mailbox, initialization
//!   segment), generated from `specs/` by `codegen` and committed. Every layout is a `#[repr(transparent)]`
//!   byte array with `const` getters, setters and builders in PRM bit numbering; enums are open; flag sets
//!   keep unknown bits. [`layout`] is their runtime (bit helpers, static descriptions).
//! - [`command`]: commands as types (opcode, input/output layouts, fwctl scope), access registers and
//!   capability pages.
//! - [`catalog`]: look-ups by name or number over everything the specs define.
//!
//! ```
//! use mlx5_cmdif::prm::{PaosReg, PortStatus};
//!
//! // Build an ACCESS_REG payload in a `const` item: port 1 administratively down.
//! const DOWN: PaosReg = PaosReg::new().with_local_port(1).with_admin_status(PortStatus::DOWN).with_ase(true);
//! assert_eq!(DOWN.admin_status(), PortStatus::DOWN);
//! assert_eq!(DOWN.as_array()[1], 1); // local_port is bits 0x08..0x10, i.e. byte 1
//! ```
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]
// Panic freedom of library code: no unwrap/expect/panic, no unchecked indexing or slicing, no
// unreachable!/todo!/unimplemented!, and no arithmetic that can overflow (a kernel built with
// CONFIG_RUST_OVERFLOW_CHECKS would panic on it): checked, saturating or wrapping operations only. Two
// modules are exempt, below. The fuzz targets are built with overflow checks as well;
// `copy_from_slice`/`split_at` calls are audited in docs/TESTING.md.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(feature = "sim-core")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod catalog;
pub mod command;
pub mod engine;
#[cfg(feature = "fwctl")]
pub mod fwctl;
pub mod host;
pub mod layout;
pub mod scope;
// The device model runs in hosted tests and tools, not in a driver; its arithmetic is covered by the
// tests and fuzzing (debug builds, overflow checks on) rather than by the lint.
#[cfg(feature = "sim-core")]
#[cfg_attr(not(test), allow(clippy::arithmetic_side_effects))]
pub mod sim;
// Generated: array-element accessors compute `base + i * stride` only after checking `i` against the
// element count, so the products stay inside the layout and cannot overflow.
#[rustfmt::skip]
#[cfg_attr(not(test), allow(clippy::arithmetic_side_effects))]
pub mod prm;

/// The generator's golden output for its `valid` case, compiled with the crate's tests so that CI's clippy
/// and test runs (`-D warnings`) prove generated code builds cleanly against this runtime.
#[cfg(test)]
#[rustfmt::skip]
#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../codegen/tests/golden/valid/expected/mod.rs"]
mod golden_valid;
