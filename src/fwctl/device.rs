//! An open `/dev/fwctl/fwctlN` of an mlx5 device: `FWCTL_INFO` at open, `FWCTL_RPC` per command.
#![allow(unsafe_code)] // The two ioctls hand the kernel pointers to our buffers.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::vec::Vec;

use crate::command::Scope;
use crate::prm::{CmdStatus, UctxCap};
use crate::scope::{command_of, output_status};

use super::error::{FwctlError, Op, RpcCall};
use super::uapi::{DeviceType, FwctlInfo, FwctlInfoMlx5, FwctlRpc, FWCTL_INFO, FWCTL_RPC};

/// Where fwctl device nodes live.
pub const FWCTL_DIR: &str = "/dev/fwctl";

/// What `FWCTL_INFO` reports about an mlx5 device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mlx5Info {
    /// The uid of this file's user context, which the driver stamps into every command.
    pub uid: u32,
    /// The capabilities of the user context (`TOOLS_RESOURCES` when the device offers it).
    pub uctx_caps: UctxCap,
}

/// The outcome of an RPC that reached firmware: the output holds the status byte and syndrome, which
/// may report an error (the driver returns the output in both cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcReply {
    /// Bytes of output the device produced.
    pub len: usize,
    /// Firmware status (`mbox_out.status`).
    pub status: CmdStatus,
    /// Firmware syndrome.
    pub syndrome: u32,
}

/// An open mlx5 fwctl device.
#[derive(Debug)]
pub struct FwctlDevice {
    file: File,
    path: PathBuf,
    info: Mlx5Info,
}

/// The fwctl device nodes present (`/dev/fwctl/fwctlN`), sorted by N.
pub fn devices() -> Vec<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(FWCTL_DIR)
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name();
                    let n = name.to_str()?.strip_prefix("fwctl")?.parse().ok()?;
                    Some((n, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

impl FwctlDevice {
    /// Opens an fwctl device node and checks with `FWCTL_INFO` that mlx5 serves it.
    ///
    /// # Errors
    /// [`FwctlError::NoDevice`], [`FwctlError::Permission`], [`FwctlError::NotFwctl`],
    /// [`FwctlError::NotMlx5`], [`FwctlError::Os`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, FwctlError> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| FwctlError::from_errno(path.clone(), Op::Open, e.raw_os_error().unwrap_or(0), None))?;
        let mut data = FwctlInfoMlx5::default();
        let mut info = FwctlInfo {
            size: core::mem::size_of::<FwctlInfo>() as u32,
            flags: 0,
            out_device_type: 0,
            device_data_len: core::mem::size_of::<FwctlInfoMlx5>() as u32,
            out_device_data: (&raw mut data) as u64,
        };
        // SAFETY: `info` is a live `struct fwctl_info` of the size it declares, and `out_device_data`
        // points to `data`, a live buffer of `device_data_len` bytes; the kernel writes no more than that
        // into either, and both outlive the call.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), FWCTL_INFO as _, &raw mut info) };
        if rc < 0 {
            return Err(FwctlError::from_errno(path, Op::Info, last_errno(), None));
        }
        let device_type = DeviceType(info.out_device_type);
        if device_type != DeviceType::MLX5 {
            return Err(FwctlError::NotMlx5 { path, device_type });
        }
        let info = Mlx5Info { uid: data.uid, uctx_caps: UctxCap::from_bits_retain(data.uctx_caps) };
        Ok(FwctlDevice { file, path, info })
    }

    /// The device node.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What `FWCTL_INFO` reported.
    pub fn info(&self) -> Mlx5Info {
        self.info
    }

    /// Runs one command at `scope`: `input` is the whole command (header first), `output` receives up to
    /// its length of output. A firmware error status is still `Ok`: see [`RpcReply::status`].
    ///
    /// # Errors
    /// [`FwctlError::NotAllowed`] when the driver refuses the command at this scope;
    /// [`FwctlError::ScopeNotSupported`]; [`FwctlError::MessageSize`]; [`FwctlError::Permission`];
    /// [`FwctlError::NoDevice`] when the device went away; [`FwctlError::Os`].
    pub fn rpc(&self, scope: Scope, input: &[u8], output: &mut [u8]) -> Result<RpcReply, FwctlError> {
        let call = RpcCall { cmd: command_of(input), scope, in_len: input.len(), out_len: output.len() };
        let (Ok(in_len), Ok(out_len)) = (u32::try_from(input.len()), u32::try_from(output.len())) else {
            return Err(FwctlError::MessageSize { call });
        };
        let mut rpc = FwctlRpc {
            size: core::mem::size_of::<FwctlRpc>() as u32,
            scope: scope as u32,
            in_len,
            out_len,
            in_: input.as_ptr() as u64,
            out: output.as_mut_ptr() as u64,
        };
        // SAFETY: `rpc` is a live `struct fwctl_rpc` of the size it declares; `in_` points to `in_len`
        // readable bytes and `out` to `out_len` writable bytes, both borrowed for the whole call; the
        // kernel reads and writes no more than those lengths.
        let rc = unsafe { libc::ioctl(self.file.as_raw_fd(), FWCTL_RPC as _, &raw mut rpc) };
        if rc < 0 {
            return Err(FwctlError::from_errno(self.path.clone(), Op::Rpc, last_errno(), Some(call)));
        }
        let len = (rpc.out_len as usize).min(output.len());
        let (status, syndrome) = output_status(output.get(..len).unwrap_or(&[])).unwrap_or((CmdStatus::OK, 0));
        Ok(RpcReply { len, status, syndrome })
    }
}
