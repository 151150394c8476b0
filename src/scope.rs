//! The fwctl security scope, enforced in the library: which commands a user session may send, and the
//! user context (uid) that every one of them carries.
//!
//! Linux's fwctl mlx5 driver stands between a user's raw command bytes and the device. It checks the
//! lengths, checks the opcode and op_mod against an allow-list that gives every command a least scope,
//! stamps the uid of the file's user context into the command header, and returns the output even when
//! firmware reports an error status. [`Session`] does the same over a [`Cmdq`], so tools that drive a
//! device directly (the device model, a userspace BAR mapping, UEFI) give their users the same guarantees
//! as the kernel does. [`check`] is the policy alone.
//!
//! The least scope of every opcode comes from the specs ([`crate::catalog::min_scope`]); an opcode the
//! specs do not know is never allowed.
//!
//! ```
//! use mlx5_cmdif::command::Scope;
//! use mlx5_cmdif::engine::Error;
//! use mlx5_cmdif::prm::{NopIn, Opcode};
//! use mlx5_cmdif::scope::check;
//!
//! let nop = NopIn::new().with_opcode(Opcode::NOP.0);
//! // NOP is a DEBUG_READ_ONLY command: refused at CONFIGURATION, allowed above.
//! assert!(matches!(check(&nop.0, 16, Scope::Configuration), Err(Error::NotAllowed { .. })));
//! assert!(check(&nop.0, 16, Scope::DebugReadOnly).is_ok());
//! ```

use zerocopy::FromBytes;

use crate::catalog;
use crate::command::Scope;
use crate::engine::{CmdId, Cmdq, Error, Options, RawCompletion};
use crate::host::{Clock, DmaMemory, Mmio};
use crate::prm::{
    CmdHcaCap, CreateUctx, CreateUctxIn, DestroyUctx, DestroyUctxIn, MboxInHdr, Opcode, QueryHcaCap, QueryHcaCapIn,
    UctxCap,
};

/// The least length of an RPC's input and of its output buffer (the command header), as fwctl requires.
pub const MIN_RPC_LEN: usize = 16;
/// The greatest length of an RPC's input or output (fwctl's limit: 2 MiB).
pub const MAX_RPC_LEN: usize = 2 << 20;

/// The opcode and op_mod of a command's input header (zeros where the input is shorter).
pub fn command_of(input: &[u8]) -> CmdId {
    let mut hdr = MboxInHdr::ZERO;
    let n = input.len().min(MboxInHdr::SIZE);
    if let (Some(d), Some(s)) = (hdr.0.get_mut(..n), input.get(..n)) {
        d.copy_from_slice(s);
    }
    CmdId { opcode: Opcode(hdr.opcode()), op_mod: hdr.op_mod() }
}

/// Whether a session at `scope` may send `input` with an output buffer of `out_len` bytes, as the fwctl
/// mlx5 driver decides it; returns the command.
///
/// # Errors
/// [`Error::BadLength`] (errno `EMSGSIZE`) when the input or the output is shorter than
/// [`MIN_RPC_LEN`] or longer than [`MAX_RPC_LEN`]; [`Error::NotAllowed`] (errno `EBADMSG`) when the
/// command's least scope is above `scope` or the command may not run through fwctl at all.
pub fn check(input: &[u8], out_len: usize, scope: Scope) -> Result<CmdId, Error> {
    let cmd = command_of(input);
    for len in [input.len(), out_len] {
        if !(MIN_RPC_LEN..=MAX_RPC_LEN).contains(&len) {
            return Err(Error::BadLength { cmd, len });
        }
    }
    if allowed(cmd.opcode.0, cmd.op_mod, scope) {
        Ok(cmd)
    } else {
        Err(Error::NotAllowed { cmd })
    }
}

/// Whether a session at `scope` may run `opcode` with `op_mod` (the allow-list alone).
pub fn allowed(opcode: u16, op_mod: u16, scope: Scope) -> bool {
    catalog::min_scope(opcode, op_mod).is_some_and(|min| min <= scope)
}

/// A user session: a user context (uid) on the device and the scope checks of every command sent through
/// it, as one open `/dev/fwctl/fwctlN` file is in Linux.
///
/// Like the queue engine, a session owns no device: every call takes the [`Cmdq`] it runs on, so several
/// sessions (each with its own uid) may share one queue. The uid is stamped into a command only while the
/// session sends it; the queue's own uid is restored afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    uid: u16,
    uctx_caps: UctxCap,
    device_caps: UctxCap,
}

impl Session {
    /// Opens a session: creates a user context with CREATE_UCTX, asking for the tools capability
    /// (`TOOLS_RESOURCES`) when the device's `cmd_hca_cap.uctx_cap` (current values) offers it, as the
    /// fwctl mlx5 driver does. The HCA must be initialized.
    ///
    /// # Errors
    /// Any [`Error`] of QUERY_HCA_CAP or CREATE_UCTX (for example [`Error::Firmware`] when the device has
    /// no room for another user context).
    pub fn open<M: Mmio, C: Clock, Q: DmaMemory, P: DmaMemory>(q: &mut Cmdq<M, C, Q, P>) -> Result<Self, Error> {
        let saved = q.uid();
        q.set_uid(0);
        let result = Self::open_as_kernel(q);
        q.set_uid(saved);
        result
    }

    fn open_as_kernel<M: Mmio, C: Clock, Q: DmaMemory, P: DmaMemory>(q: &mut Cmdq<M, C, Q, P>) -> Result<Self, Error> {
        let general = q.query_cap::<CmdHcaCap>(true)?;
        let device_caps = general.uctx_cap();
        let uctx_caps =
            if device_caps.contains(UctxCap::TOOLS_RESOURCES) { UctxCap::TOOLS_RESOURCES } else { UctxCap::empty() };
        let mut input = CreateUctxIn::new();
        input.uctx_mut().set_cap(uctx_caps);
        let out = q.execute::<CreateUctx>(&input)?;
        Ok(Session { uid: out.uid(), uctx_caps, device_caps })
    }

    /// The session's user context id, stamped into every command it sends.
    pub fn uid(&self) -> u16 {
        self.uid
    }

    /// The capabilities the session's user context was created with (what `fwctl_info_mlx5.uctx_caps`
    /// reports).
    pub fn uctx_caps(&self) -> UctxCap {
        self.uctx_caps
    }

    /// The user-context capabilities the device offers (`cmd_hca_cap.uctx_cap`).
    pub fn device_caps(&self) -> UctxCap {
        self.device_caps
    }

    /// Sends a raw command at `scope`, as `FWCTL_RPC` does: the lengths and the command's least scope are
    /// checked first (a refused command never reaches the device), the session's uid replaces the uid of
    /// the header, and the output (up to `output.len()` bytes) comes back whatever firmware's status: a
    /// non-OK status is an `Ok` completion whose output holds the status and syndrome.
    ///
    /// # Errors
    /// As [`check`]; then any delivery or driver error of [`Cmdq::execute_raw`] (never
    /// [`Error::Firmware`]).
    pub fn rpc<M: Mmio, C: Clock, Q: DmaMemory, P: DmaMemory>(
        &self,
        q: &mut Cmdq<M, C, Q, P>,
        scope: Scope,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<RawCompletion, Error> {
        check(input, output.len(), scope)?;
        let saved = q.uid();
        q.set_uid(self.uid);
        let result = q.execute_raw(input, output, Options::default());
        q.set_uid(saved);
        result
    }

    /// Closes the session: destroys its user context with DESTROY_UCTX (sent without a uid, as the
    /// kernel sends it).
    ///
    /// # Errors
    /// Any [`Error`] of DESTROY_UCTX.
    pub fn close<M: Mmio, C: Clock, Q: DmaMemory, P: DmaMemory>(self, q: &mut Cmdq<M, C, Q, P>) -> Result<(), Error> {
        let saved = q.uid();
        q.set_uid(0);
        let result = q.execute::<DestroyUctx>(&DestroyUctxIn::new().with_uid(self.uid));
        q.set_uid(saved);
        result.map(|_| ())
    }
}

/// The status byte and syndrome of a command output (`mbox_out` header), if the output holds them.
pub fn output_status(output: &[u8]) -> Option<(crate::prm::CmdStatus, u32)> {
    let hdr = crate::prm::MboxOutHdr::read_from_prefix(output).ok()?.0;
    Some((hdr.status(), hdr.syndrome()))
}

const _: () = assert!(<QueryHcaCap as crate::command::Command>::OPCODE == 0x100);
const _: () = assert!(MboxInHdr::SIZE == MIN_RPC_LEN);
const _: () = assert!(QueryHcaCapIn::SIZE >= MIN_RPC_LEN);
