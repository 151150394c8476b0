//! Syndromes the device model puts in `mbox_out.syndrome` when a command fails.
//!
//! Real firmware syndromes are opaque 32-bit numbers; these are the model's own, one per reason, so tests
//! can tell why a command failed. The status byte is the PRM one ([`CmdStatus`](crate::prm::CmdStatus)).

/// `BAD_SYSTEM_STATE`: the function is not enabled (only ENABLE_HCA is accepted before ENABLE_HCA).
pub const NOT_ENABLED: u32 = 0x5100_0001;
/// `BAD_SYSTEM_STATE`: the command is not allowed in the HCA's current state (e.g. SET_HCA_CAP after
/// INIT_HCA, TEARDOWN_HCA before INIT_HCA, CREATE_UCTX before INIT_HCA).
pub const WRONG_STATE: u32 = 0x5100_0002;
/// `BAD_SYSTEM_STATE`: firmware still misses pages (boot pages for capability commands, boot + init
/// pages for INIT_HCA).
pub const PAGES_MISSING: u32 = 0x5100_0003;
/// `BAD_INPUT_LENGTH`: the input is shorter than the command's layout (or its tail).
pub const INPUT_TOO_SHORT: u32 = 0x5100_0010;
/// `BAD_OUTPUT_LENGTH`: the output buffer is shorter than the command's output.
pub const OUTPUT_TOO_SHORT: u32 = 0x5100_0011;
/// `BAD_OPCODE`: no such opcode.
pub const UNKNOWN_OPCODE: u32 = 0x5100_0020;
/// `BAD_OPCODE`: a PRM opcode the model does not implement.
pub const NOT_MODELLED: u32 = 0x5100_0021;
/// `BAD_PARAMETER`: op_mod not valid for the command.
pub const BAD_OP_MOD: u32 = 0x5100_0030;
/// `BAD_PARAMETER`: a field of the input is out of range.
pub const BAD_FIELD: u32 = 0x5100_0031;
/// `BAD_PARAMETER`: ACCESS_REG of a register id the device does not have.
pub const UNKNOWN_REGISTER: u32 = 0x5100_0032;
/// `BAD_PARAMETER`: local port or module number out of range.
pub const BAD_PORT: u32 = 0x5100_0033;
/// `BAD_PARAMETER`: MANAGE_PAGES gave a page that is unaligned, not mapped on the bus, or already held.
pub const BAD_PAGE: u32 = 0x5100_0034;
/// `BAD_PARAMETER`: SET_HCA_CAP of an unknown type or with a field above its maximum.
pub const CAP_NOT_SETTABLE: u32 = 0x5100_0035;
/// `BAD_PARAMETER`: another function (function_id, other_function, other_vport) was addressed; the model
/// has only the calling PF.
pub const NO_SUCH_FUNCTION: u32 = 0x5100_0036;
/// `BAD_PARAMETER`: the header's uid is not a live user context.
pub const UID_NOT_LIVE: u32 = 0x5100_0040;
/// `BAD_PARAMETER`: the header's uid may not run this command (a permission error): no user context may
/// run HCA life-cycle commands (ENABLE/DISABLE/INIT/TEARDOWN_HCA, MANAGE_PAGES, SET_ISSI,
/// SET_DRIVER_VERSION, CREATE/DESTROY_UCTX), and a tools context may not run SET_HCA_CAP.
pub const UID_NOT_PERMITTED: u32 = 0x5100_0041;
/// `EXCEED_LIMIT`: no more user contexts (1 << log_max_uctx are live).
pub const NO_UIDS: u32 = 0x5100_0042;
/// `BAD_RESOURCE`: DESTROY_UCTX of a uid that is not live.
pub const NO_SUCH_UID: u32 = 0x5100_0043;
/// `BAD_RESOURCE_STATE`: QUERY_DIAGNOSTIC_COUNTERS while sampling is not enabled.
pub const DIAG_NOT_ENABLED: u32 = 0x5100_0050;
