//! The Linux fwctl backend without a device: the uapi structs and ioctl numbers, errno mapping, and the
//! errors for a missing device node and for a file that is not an fwctl device.
#![cfg(feature = "fwctl")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::mem::{align_of, offset_of, size_of};
use std::path::PathBuf;

use mlx5_cmdif::command::Scope;
use mlx5_cmdif::engine::CmdId;
use mlx5_cmdif::fwctl::uapi::{FwctlInfo, FwctlInfoMlx5, FwctlRpc, FWCTL_INFO, FWCTL_RPC};
use mlx5_cmdif::fwctl::{DeviceType, FwctlDevice, FwctlError, Op, RpcCall};
use mlx5_cmdif::prm::Opcode;

#[test]
fn uapi_structs_match_the_kernel() {
    assert_eq!(size_of::<FwctlInfo>(), 24);
    assert_eq!(size_of::<FwctlRpc>(), 32);
    assert_eq!(size_of::<FwctlInfoMlx5>(), 8);
    assert_eq!(align_of::<FwctlInfo>(), 8, "aligned_u64 member");
    assert_eq!(align_of::<FwctlRpc>(), 8);
    assert_eq!(offset_of!(FwctlInfo, out_device_data), 16);
    assert_eq!((offset_of!(FwctlRpc, in_), offset_of!(FwctlRpc, out)), (16, 24));
    assert_eq!(offset_of!(FwctlInfoMlx5, uctx_caps), 4);
}

#[test]
fn ioctl_numbers_are_io_0x9a_0_and_1() {
    // _IO(type, nr): no direction, no size: type in bits 8..16, nr in bits 0..8.
    assert_eq!(FWCTL_INFO, 0x9a00);
    assert_eq!(FWCTL_RPC, 0x9a01);
    assert_eq!(DeviceType::MLX5.0, 1);
    assert_eq!(DeviceType(1).name(), Some("mlx5"));
    assert_eq!(DeviceType(9).name(), None);
}

fn call() -> RpcCall {
    RpcCall {
        cmd: CmdId { opcode: Opcode::ACCESS_REG, op_mod: 1 },
        scope: Scope::Configuration,
        in_len: 32,
        out_len: 32,
    }
}

#[test]
fn errno_values_map_to_reasons() {
    let p = PathBuf::from("/dev/fwctl/fwctl0");
    let e = |errno, c| FwctlError::from_errno(p.clone(), Op::Rpc, errno, c);
    for errno in [2, 19, 6] {
        assert!(matches!(e(errno, None), FwctlError::NoDevice { .. }), "{errno}");
    }
    for errno in [1, 13] {
        assert!(matches!(e(errno, None), FwctlError::Permission { op: Op::Rpc, .. }), "{errno}");
    }
    assert!(matches!(e(25, None), FwctlError::NotFwctl { .. }));
    assert!(matches!(e(74, Some(call())), FwctlError::NotAllowed { .. }));
    assert!(matches!(e(95, Some(call())), FwctlError::ScopeNotSupported { .. }));
    assert!(matches!(e(90, Some(call())), FwctlError::MessageSize { .. }));
    assert!(matches!(e(5, Some(call())), FwctlError::Os { errno: 5, .. }));
    // Without an RPC, EBADMSG is just an OS error.
    assert!(matches!(e(74, None), FwctlError::Os { errno: 74, .. }));
    assert_eq!(e(74, Some(call())).errno(), Some(74));
    let msg = e(74, Some(call())).to_string();
    assert!(msg.contains("ACCESS_REG") && msg.contains("configuration"), "{msg}");
}

#[test]
fn a_missing_device_node_is_no_device() {
    let e = FwctlDevice::open("/dev/fwctl/fwctl-does-not-exist-4242").unwrap_err();
    assert!(matches!(e, FwctlError::NoDevice { .. }), "{e}");
    assert!(e.to_string().contains("no such fwctl device"), "{e}");
}

#[test]
fn a_file_that_is_not_an_fwctl_device_is_refused() {
    let e = FwctlDevice::open("/dev/null").unwrap_err();
    assert!(matches!(e, FwctlError::NotFwctl { .. }), "{e}");
}
