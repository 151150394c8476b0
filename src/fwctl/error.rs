//! What can go wrong talking to an fwctl device, with the kernel's errno values turned into reasons a
//! user can act on.

use std::fmt;
use std::path::PathBuf;

use crate::command::Scope;
use crate::engine::CmdId;

use super::uapi::DeviceType;

/// Which step of the conversation with the device failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Opening the character device.
    Open,
    /// `FWCTL_INFO`.
    Info,
    /// `FWCTL_RPC`.
    Rpc,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Open => "open",
            Op::Info => "FWCTL_INFO",
            Op::Rpc => "FWCTL_RPC",
        })
    }
}

/// The RPC an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcCall {
    /// The command (from the input header).
    pub cmd: CmdId,
    /// The scope asked for.
    pub scope: Scope,
    /// Input length.
    pub in_len: usize,
    /// Output buffer length.
    pub out_len: usize,
}

/// Errors of the fwctl backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FwctlError {
    /// The device node does not exist, or its device went away (`ENOENT`, `ENODEV`, `ENXIO`).
    NoDevice {
        /// The device node.
        path: PathBuf,
    },
    /// The caller lacks the rights (`EACCES`, `EPERM`): fwctl nodes are normally root-only, and
    /// `DEBUG_WRITE_FULL` needs `CAP_SYS_RAWIO`.
    Permission {
        /// The device node.
        path: PathBuf,
        /// What was refused.
        op: Op,
    },
    /// The file is not an fwctl device (`ENOTTY` from its ioctls).
    NotFwctl {
        /// The file.
        path: PathBuf,
    },
    /// The fwctl device is served by another driver than mlx5.
    NotMlx5 {
        /// The device node.
        path: PathBuf,
        /// The type it reports.
        device_type: DeviceType,
    },
    /// The driver refused the command for the scope asked (`EBADMSG`): its least scope is higher, or it
    /// may never run through fwctl.
    NotAllowed {
        /// The call.
        call: RpcCall,
    },
    /// The kernel does not support the scope asked (`EOPNOTSUPP`).
    ScopeNotSupported {
        /// The call.
        call: RpcCall,
    },
    /// The input or output is shorter than the 16-byte header or longer than the driver accepts
    /// (`EMSGSIZE`).
    MessageSize {
        /// The call.
        call: RpcCall,
    },
    /// Any other errno.
    Os {
        /// The device node.
        path: PathBuf,
        /// What failed.
        op: Op,
        /// The errno (positive).
        errno: i32,
    },
}

const EPERM: i32 = 1;
const ENOENT: i32 = 2;
const ENXIO: i32 = 6;
const EACCES: i32 = 13;
const ENODEV: i32 = 19;
const ENOTTY: i32 = 25;
const EBADMSG: i32 = 74;
const EMSGSIZE: i32 = 90;
const EOPNOTSUPP: i32 = 95;

impl FwctlError {
    /// The error for `errno` (positive) from step `op` on `path`; `call` is the RPC, for [`Op::Rpc`].
    pub fn from_errno(path: PathBuf, op: Op, errno: i32, call: Option<RpcCall>) -> Self {
        match (errno, call) {
            (ENOENT | ENODEV | ENXIO, _) => FwctlError::NoDevice { path },
            (EACCES | EPERM, _) => FwctlError::Permission { path, op },
            (ENOTTY, _) => FwctlError::NotFwctl { path },
            (EBADMSG, Some(call)) => FwctlError::NotAllowed { call },
            (EOPNOTSUPP, Some(call)) => FwctlError::ScopeNotSupported { call },
            (EMSGSIZE, Some(call)) => FwctlError::MessageSize { call },
            _ => FwctlError::Os { path, op, errno },
        }
    }

    /// The errno this error stands for, when it came from (or would have been) one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            FwctlError::NoDevice { .. } => Some(ENOENT),
            FwctlError::Permission { .. } => Some(EACCES),
            FwctlError::NotFwctl { .. } => Some(ENOTTY),
            FwctlError::NotMlx5 { .. } => None,
            FwctlError::NotAllowed { .. } => Some(EBADMSG),
            FwctlError::ScopeNotSupported { .. } => Some(EOPNOTSUPP),
            FwctlError::MessageSize { .. } => Some(EMSGSIZE),
            FwctlError::Os { errno, .. } => Some(*errno),
        }
    }
}

impl fmt::Display for FwctlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FwctlError::NoDevice { path } => write!(
                f,
                "{}: no such fwctl device (is the mlx5_fwctl driver loaded? see /sys/class/fwctl)",
                path.display()
            ),
            FwctlError::Permission { path, op: Op::Rpc } => {
                write!(f, "{}: permission denied for the RPC (debug_write_full needs CAP_SYS_RAWIO)", path.display())
            }
            FwctlError::Permission { path, op } => {
                write!(f, "{}: permission denied ({op}); fwctl devices are normally root-only", path.display())
            }
            FwctlError::NotFwctl { path } => write!(f, "{}: not an fwctl device", path.display()),
            FwctlError::NotMlx5 { path, device_type } => match device_type.name() {
                Some(n) => write!(f, "{}: an fwctl device of type {n}, not mlx5", path.display()),
                None => write!(f, "{}: an fwctl device of unknown type {}, not mlx5", path.display(), device_type.0),
            },
            FwctlError::NotAllowed { call } => {
                write!(f, "{}: not allowed at scope {} (the driver refused it)", call.cmd, call.scope.name())
            }
            FwctlError::ScopeNotSupported { call } => {
                write!(f, "{}: this kernel does not support scope {}", call.cmd, call.scope.name())
            }
            FwctlError::MessageSize { call } => write!(
                f,
                "{}: input of {} bytes or output of {} bytes outside what the driver accepts (16 B .. 2 MiB)",
                call.cmd, call.in_len, call.out_len
            ),
            FwctlError::Os { path, op, errno } => {
                write!(f, "{}: {op} failed: {}", path.display(), std::io::Error::from_raw_os_error(*errno))
            }
        }
    }
}

impl std::error::Error for FwctlError {}
