//! Support for the criterion benchmarks of `mlx5-cmdif`: the rigs the benchmarks run on, the cheapest
//! possible device (to separate the engine's cost from the device model's), and the two implementations
//! of the layout benchmark (generated Rust accessors, and the C shift-and-mask technique through FFI).
//!
//! Every benchmark in `benches/` has a baseline measured in the same run; `docs/BENCHMARKS.md` says what
//! each one measures and how to read the ratios.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]
#![deny(missing_docs)]

pub mod floors;
pub mod interleave;
pub mod layout;
pub mod null;
pub mod pingpong;
pub mod rig;
