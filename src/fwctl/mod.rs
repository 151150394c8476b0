//! The Linux fwctl backend: ConnectX firmware commands from userspace through `/dev/fwctl/fwctlN`.
//!
//! Linux 6.15 and later expose device firmware RPC through fwctl. For mlx5 devices the `mlx5_fwctl` driver
//! gives every open file its own user context (uid), checks each command against the scope the caller
//! asks for (the same allow-list as [`crate::scope`]), stamps the uid in, and returns the output even
//! when firmware reports an error status.
//!
//! - [`uapi`]: the ioctl structs and numbers, checked against the kernel's sizes at compile time;
//! - [`FwctlDevice`]: open a node (the device must be mlx5), `FWCTL_INFO`, `FWCTL_RPC`;
//! - [`FwctlError`]: errno values turned into reasons (no device, permission, scope, sizes).
//!
//! ```no_run
//! use mlx5_cmdif::command::Scope;
//! use mlx5_cmdif::fwctl::FwctlDevice;
//! use mlx5_cmdif::prm::{Opcode, QueryAdapterIn};
//!
//! let dev = FwctlDevice::open("/dev/fwctl/fwctl0")?;
//! println!("uid {}", dev.info().uid);
//! let input = QueryAdapterIn::new().with_opcode(Opcode::QUERY_ADAPTER.0);
//! let mut out = [0u8; 272];
//! let reply = dev.rpc(Scope::Configuration, &input.0, &mut out)?;
//! println!("status {:?}, {} bytes", reply.status, reply.len);
//! # Ok::<(), mlx5_cmdif::fwctl::FwctlError>(())
//! ```

pub mod device;
pub mod error;
pub mod uapi;

pub use device::{devices, FwctlDevice, Mlx5Info, RpcReply, FWCTL_DIR};
pub use error::{FwctlError, Op, RpcCall};
pub use uapi::DeviceType;
