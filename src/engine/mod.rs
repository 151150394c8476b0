//! The polling command-queue engine: sends PRM commands to ConnectX firmware through the command queue
//! in host memory, by polling, in any host (kernel, UEFI, userspace).
//!
//! - [`Cmdq`] brings the queue up and executes raw commands (bytes in, bytes out: what fwctl-style RPC
//!   needs) and typed ones (the generated [`crate::command::Command`] types), inline or through mailbox
//!   chains, with several commands in flight.
//! - [`hca`] brings a whole device up and down in polling mode, as pre-boot provisioning needs.
//! - Nothing is allocated: the host lends BAR0 access, a clock, the 4 KiB queue page and a pool of
//!   mailbox blocks ([`crate::host`]). Device output never causes a panic; every wait is bounded.

pub mod access;
pub mod error;
pub mod hca;
pub mod iseg;
pub mod mailbox;
pub mod queue;
pub mod signature;
pub mod stats;
pub mod token;
pub mod wait;

pub use error::{CmdId, DeadReason, Error};
pub use iseg::HealthReport;
pub use queue::{Cmdq, Config, FwVersion, Geometry, Options, RawCompletion, Ticket};
pub use stats::{OpStats, Stats};
