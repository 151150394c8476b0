//! The device model: a ConnectX (mlx5) firmware simulator behind the host traits.
//!
//! It plays the device a driver talks to, strictly, so a command-queue engine can be tested, demoed and
//! benchmarked without hardware:
//!
//! - [`SimBus`] / [`SimDma`]: DMA memory with fake bus addresses (atomic storage; an access to an unmapped
//!   address is a DMA fault, reported through the delivery status, never a panic); [`SimPages`] is a
//!   [`PageProvider`](crate::host::PageProvider) on the bus; `SimClock` (with `std`) a
//!   [`Clock`](crate::host::Clock).
//! - [`SimDevice`]: BAR0 (the initialization segment, through [`Mmio`](crate::host::Mmio)), the command
//!   queue protocol (entry and mailbox checks with the PRM delivery statuses; output mailboxes written where
//!   they carry output, the rest left as the host prepared them; signatures; ownership handoff) and firmware (HCA life cycle, pages, capabilities, ACCESS_REG, user contexts,
//!   vport and diagnostic queries) — synchronous, or (with `std`) on its own thread.
//! - [`Fault`] / [`When`]: fault injection (delays, lost and late completions, corrupted completions,
//!   surprise removal, stuck initialization, health events, firmware errors).
//!
//! Features: `sim-core` is the model with only `core` and `alloc` (synchronous mode, spin locks, device
//! time counted in host accesses) — what a UEFI application links; `sim` is `sim-core` plus `std`
//! (threaded mode, `SimClock`, real time for delayed completions, `std` locks).
//!
//! ```
//! use mlx5_cmdif::host::Mmio;
//! use mlx5_cmdif::prm::InitialSeg;
//! use mlx5_cmdif::sim::{SimBus, SimConfig, SimDevice};
//!
//! let bus = SimBus::new();
//! let dev = SimDevice::new(&bus, SimConfig::default());
//! // Mmio values are the little-endian reading of big-endian registers.
//! let f = InitialSeg::FIELD_CMD_INTERFACE_REV;
//! let reg = u32::from_be_bytes(dev.mmio().read32(f.offset / 32 * 4).to_le_bytes());
//! assert_eq!(reg >> 16, 5);
//! ```

mod bar;
mod caps;
#[cfg(feature = "std")]
mod clock;
mod config;
mod device;
mod dma;
mod fault;
mod fw;
mod queue;
mod regs;
mod sync;
pub mod syndrome;
mod time;

#[cfg(feature = "std")]
pub use clock::SimClock;
pub use config::{timeout_ms, SimConfig};
pub use device::{CommandRecord, SimDevice, SimMmio, SimStats};
pub use dma::{DmaFault, SimBus, SimDma, SimPages};
pub use fault::{Delay, Fault, LateTrigger, When};
pub use fw::HcaState;
