//! The fwctl user API (`include/uapi/fwctl/fwctl.h` and `include/uapi/fwctl/mlx5.h`), as `#[repr(C)]`
//! structs whose sizes and field offsets are checked at compile time against the kernel's.
//!
//! Both ioctls take a struct whose first `u32` is its size (the extensible-struct convention: the kernel
//! accepts shorter structs from older programs and requires unknown trailing bytes to be zero).

use core::mem::{offset_of, size_of};

/// The ioctl type of fwctl (`FWCTL_TYPE`).
pub const FWCTL_TYPE: u32 = 0x9a;

/// Builds `_IO(ty, nr)`: no direction bits and no size, as fwctl declares its ioctls.
pub const fn io(ty: u32, nr: u32) -> u32 {
    (ty << 8) | nr
}

/// `FWCTL_INFO`: describe the device (`struct fwctl_info`).
pub const FWCTL_INFO: u32 = io(FWCTL_TYPE, 0);
/// `FWCTL_RPC`: run one device command (`struct fwctl_rpc`).
pub const FWCTL_RPC: u32 = io(FWCTL_TYPE, 1);

/// `enum fwctl_device_type`: which driver serves an fwctl device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceType(pub u32);

impl DeviceType {
    /// `FWCTL_DEVICE_TYPE_ERROR`.
    pub const ERROR: DeviceType = DeviceType(0);
    /// `FWCTL_DEVICE_TYPE_MLX5`: ConnectX, through the mlx5 fwctl driver.
    pub const MLX5: DeviceType = DeviceType(1);
    /// `FWCTL_DEVICE_TYPE_CXL`.
    pub const CXL: DeviceType = DeviceType(2);
    /// `FWCTL_DEVICE_TYPE_PDS`: AMD/Pensando.
    pub const PDS: DeviceType = DeviceType(4);

    /// A short name (`mlx5`, `cxl`, `pds`), if the type is known.
    pub const fn name(self) -> Option<&'static str> {
        match self.0 {
            0 => Some("error"),
            1 => Some("mlx5"),
            2 => Some("cxl"),
            4 => Some("pds"),
            _ => None,
        }
    }
}

/// `struct fwctl_info` (24 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct FwctlInfo {
    /// Size of this struct (`sizeof(struct fwctl_info)`).
    pub size: u32,
    /// Must be zero.
    pub flags: u32,
    /// Out: the device type ([`DeviceType`]).
    pub out_device_type: u32,
    /// In: size of the device-data buffer; out: bytes the driver had (may exceed the buffer).
    pub device_data_len: u32,
    /// User pointer to the device-data buffer (`aligned_u64`).
    pub out_device_data: u64,
}

/// `struct fwctl_rpc` (32 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct FwctlRpc {
    /// Size of this struct (`sizeof(struct fwctl_rpc)`).
    pub size: u32,
    /// The scope of the call (`enum fwctl_rpc_scope`).
    pub scope: u32,
    /// Length of the input.
    pub in_len: u32,
    /// In: size of the output buffer; out: bytes the device produced.
    pub out_len: u32,
    /// User pointer to the input (`aligned_u64`).
    pub in_: u64,
    /// User pointer to the output buffer (`aligned_u64`).
    pub out: u64,
}

/// `struct fwctl_info_mlx5`: the mlx5 device data of `FWCTL_INFO` (8 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct FwctlInfoMlx5 {
    /// The uid of the file's user context (stamped into every command).
    pub uid: u32,
    /// The capabilities the user context was created with (`MLX5_UCTX_CAP_*`).
    pub uctx_caps: u32,
}

const _: () = assert!(size_of::<FwctlInfo>() == 24);
const _: () = assert!(offset_of!(FwctlInfo, flags) == 4);
const _: () = assert!(offset_of!(FwctlInfo, out_device_type) == 8);
const _: () = assert!(offset_of!(FwctlInfo, device_data_len) == 12);
const _: () = assert!(offset_of!(FwctlInfo, out_device_data) == 16);
const _: () = assert!(size_of::<FwctlRpc>() == 32);
const _: () = assert!(offset_of!(FwctlRpc, scope) == 4);
const _: () = assert!(offset_of!(FwctlRpc, in_len) == 8);
const _: () = assert!(offset_of!(FwctlRpc, out_len) == 12);
const _: () = assert!(offset_of!(FwctlRpc, in_) == 16);
const _: () = assert!(offset_of!(FwctlRpc, out) == 24);
const _: () = assert!(size_of::<FwctlInfoMlx5>() == 8);
const _: () = assert!(FWCTL_INFO == 0x9a00 && FWCTL_RPC == 0x9a01);
