//! The engine's errors: every way a command can fail, typed, naming the command.

use core::fmt;

use crate::prm::{CmdStatus, DeliveryStatus, HealthSyndrome, Opcode};

/// Which command an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CmdId {
    /// The opcode.
    pub opcode: Opcode,
    /// The op_mod.
    pub op_mod: u16,
}

impl fmt::Display for CmdId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.opcode.name() {
            Some(n) => write!(f, "{n} (opcode {:#x}, op_mod {:#x})", self.opcode.0, self.op_mod),
            None => write!(f, "opcode {:#x} (op_mod {:#x})", self.opcode.0, self.op_mod),
        }
    }
}

/// Why the engine considers the device dead. After any of these it rings no doorbell again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DeadReason {
    /// BAR0 reads all ones: the PCI function is gone (surprise removal, link down).
    SurpriseRemoval,
    /// `nic_interface` reads DISABLED: firmware stopped serving the command interface.
    NicInterfaceDisabled,
    /// `nic_interface` reads the software-reset mode.
    SoftwareReset,
    /// The health buffer reports a fatal syndrome with the reset-required bit.
    FatalHealth {
        /// The health syndrome.
        syndrome: HealthSyndrome,
        /// The extended syndrome.
        ext_syndrome: u16,
    },
}

impl fmt::Display for DeadReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeadReason::SurpriseRemoval => f.write_str("the device reads all ones (surprise removal or PCI link down)"),
            DeadReason::NicInterfaceDisabled => f.write_str("nic_interface is DISABLED"),
            DeadReason::SoftwareReset => f.write_str("nic_interface is in software reset"),
            DeadReason::FatalHealth { syndrome, ext_syndrome } => {
                write!(f, "fatal health syndrome {syndrome:?} (ext {ext_syndrome:#x}), reset required")
            }
        }
    }
}

/// Errors of queue bring-up and command execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// Firmware did not clear `initializing` within the budget.
    InitTimeout {
        /// The budget in microseconds.
        waited_us: u64,
    },
    /// The device speaks a command-interface revision other than 5.
    UnsupportedCmdifRev(u16),
    /// The queue size or stride the device reports is unusable.
    BadQueueGeometry {
        /// log2 of the number of entries.
        log_size: u8,
        /// log2 of the entry stride in bytes.
        log_stride: u8,
    },
    /// A lent buffer is too small or not aligned as the PRM requires.
    BadHostMemory {
        /// Which buffer.
        what: &'static str,
        /// Required alignment in bytes.
        align: u64,
        /// Required length in bytes.
        min_len: usize,
    },
    /// The device is dead; no command was sent.
    DeviceDead(DeadReason),
    /// Every usable slot is busy (or quarantined after a timeout).
    Busy(CmdId),
    /// The mailbox pool cannot hold this command's chains right now.
    NoMailboxes {
        /// The command.
        cmd: CmdId,
        /// Blocks needed.
        needed: usize,
    },
    /// A message is larger than the pool could ever hold, or the input is shorter than its header.
    BadLength {
        /// The command.
        cmd: CmdId,
        /// The length asked for.
        len: usize,
    },
    /// No completion within the timeout. The slot is quarantined until firmware gives it back.
    Timeout {
        /// The command.
        cmd: CmdId,
        /// The timeout in microseconds.
        after_us: u64,
    },
    /// Firmware refused the command descriptor (delivery status ≠ 0).
    Delivery {
        /// The command.
        cmd: CmdId,
        /// The delivery status.
        status: DeliveryStatus,
    },
    /// The completed entry carries a token other than the one sent.
    TokenMismatch {
        /// The command.
        cmd: CmdId,
        /// Token sent.
        sent: u8,
        /// Token found.
        found: u8,
    },
    /// A signature of the completed entry or of an output mailbox block does not verify.
    BadSignature {
        /// The command.
        cmd: CmdId,
        /// `None` for the entry, else the output block number.
        block: Option<u32>,
    },
    /// An output mailbox block has the wrong block number or token.
    BadMailbox {
        /// The command.
        cmd: CmdId,
        /// The block's position in the chain.
        block: u32,
    },
    /// Firmware executed the command and reported an error status.
    Firmware {
        /// The command.
        cmd: CmdId,
        /// The status.
        status: CmdStatus,
        /// The syndrome (firmware's detailed reason).
        syndrome: u32,
    },
    /// The ticket does not name a command in flight.
    UnknownTicket,
    /// Firmware asked for pages the host could not provide, or returned pages it was never given.
    Pages {
        /// The command.
        cmd: CmdId,
    },
    /// The command is outside the session's fwctl scope; it was not sent.
    NotAllowed {
        /// The command.
        cmd: CmdId,
    },
}

impl Error {
    /// The command the error is about, if any.
    pub fn cmd(&self) -> Option<CmdId> {
        match *self {
            Error::Busy(cmd)
            | Error::NoMailboxes { cmd, .. }
            | Error::BadLength { cmd, .. }
            | Error::Timeout { cmd, .. }
            | Error::Delivery { cmd, .. }
            | Error::TokenMismatch { cmd, .. }
            | Error::BadSignature { cmd, .. }
            | Error::BadMailbox { cmd, .. }
            | Error::Firmware { cmd, .. }
            | Error::Pages { cmd }
            | Error::NotAllowed { cmd } => Some(cmd),
            _ => None,
        }
    }

    /// The Linux errno the kernel's mlx5 driver would return for this error (positive value).
    ///
    /// Delivery statuses map as `mlx5_cmd_invoke` does (signature/token → EBADR, block number and
    /// pointers → EFAULT, lengths and descriptors → ENOMSG, firmware → EIO); firmware statuses as
    /// `cmd_status_to_err`; a timeout is ETIMEDOUT, a dead device ENXIO.
    pub fn errno(&self) -> i32 {
        const EIO: i32 = 5;
        const ENXIO: i32 = 6;
        const EAGAIN: i32 = 11;
        const ENOMEM: i32 = 12;
        const EFAULT: i32 = 14;
        const EBUSY: i32 = 16;
        const EINVAL: i32 = 22;
        const ENOMSG: i32 = 42;
        const EBADR: i32 = 53;
        const EBADMSG: i32 = 74;
        const EMSGSIZE: i32 = 90;
        const EOPNOTSUPP: i32 = 95;
        const ETIMEDOUT: i32 = 110;
        match *self {
            Error::InitTimeout { .. } | Error::Timeout { .. } => ETIMEDOUT,
            Error::UnsupportedCmdifRev(_) => EOPNOTSUPP,
            Error::BadQueueGeometry { .. } | Error::BadHostMemory { .. } => EINVAL,
            Error::DeviceDead(_) => ENXIO,
            Error::Busy(_) => EBUSY,
            Error::NoMailboxes { .. } => ENOMEM,
            Error::BadLength { .. } => EMSGSIZE,
            Error::Delivery { status, .. } => match status {
                DeliveryStatus::SIGNATURE_ERROR | DeliveryStatus::TOKEN_ERROR => EBADR,
                DeliveryStatus::BAD_BLOCK_NUMBER
                | DeliveryStatus::OUT_PTR_ALIGN_ERROR
                | DeliveryStatus::IN_PTR_ALIGN_ERROR => EFAULT,
                DeliveryStatus::IN_LENGTH_ERROR
                | DeliveryStatus::OUT_LENGTH_ERROR
                | DeliveryStatus::RESERVED_NOT_CLEARED
                | DeliveryStatus::BAD_DESCRIPTOR_TYPE => ENOMSG,
                _ => EIO,
            },
            Error::TokenMismatch { .. } | Error::BadSignature { .. } => EBADR,
            Error::BadMailbox { .. } => EFAULT,
            Error::Firmware { status, .. } => match status {
                CmdStatus::OK => 0,
                CmdStatus::BAD_OPCODE
                | CmdStatus::BAD_PARAMETER
                | CmdStatus::BAD_RESOURCE
                | CmdStatus::BAD_RESOURCE_STATE
                | CmdStatus::BAD_INDEX
                | CmdStatus::BAD_QP_STATE
                | CmdStatus::BAD_PACKET
                | CmdStatus::BAD_SIZE_OUTSTANDING_CQES => EINVAL,
                CmdStatus::RESOURCE_BUSY => EBUSY,
                CmdStatus::NOT_READY | CmdStatus::NO_RESOURCES => EAGAIN,
                CmdStatus::EXCEED_LIMIT => ENOMEM,
                _ => EIO,
            },
            Error::UnknownTicket => EINVAL,
            Error::Pages { .. } => ENOMEM,
            Error::NotAllowed { .. } => EBADMSG,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InitTimeout { waited_us } => {
                write!(f, "firmware still initializing after {} ms", waited_us / 1000)
            }
            Error::UnsupportedCmdifRev(r) => write!(f, "command interface revision {r} is not supported (need 5)"),
            Error::BadQueueGeometry { log_size, log_stride } => {
                write!(f, "unusable command queue geometry: log size {log_size}, log stride {log_stride}")
            }
            Error::BadHostMemory { what, align, min_len } => {
                write!(f, "{what} must be at least {min_len} bytes and {align}-byte aligned on the bus")
            }
            Error::DeviceDead(r) => write!(f, "device is dead: {r}"),
            Error::Busy(c) => write!(f, "{c}: no free command slot"),
            Error::NoMailboxes { cmd, needed } => write!(f, "{cmd}: mailbox pool cannot hold {needed} blocks now"),
            Error::BadLength { cmd, len } => write!(f, "{cmd}: message length {len} is not supported"),
            Error::Timeout { cmd, after_us } => {
                write!(f, "{cmd}: no completion after {} ms; the slot is quarantined", after_us / 1000)
            }
            Error::Delivery { cmd, status } => write!(f, "{cmd}: delivery failed: {status:?}"),
            Error::TokenMismatch { cmd, sent, found } => {
                write!(f, "{cmd}: completion token {found:#x} does not match {sent:#x}")
            }
            Error::BadSignature { cmd, block: None } => write!(f, "{cmd}: bad signature on the completed entry"),
            Error::BadSignature { cmd, block: Some(b) } => write!(f, "{cmd}: bad signature on output block {b}"),
            Error::BadMailbox { cmd, block } => write!(f, "{cmd}: output block {block} has a wrong number or token"),
            Error::Firmware { cmd, status, syndrome } => {
                write!(f, "{cmd}: firmware status {status:?}, syndrome {syndrome:#010x}")
            }
            Error::UnknownTicket => f.write_str("no command in flight for this ticket"),
            Error::Pages { cmd } => write!(f, "{cmd}: firmware page exchange failed"),
            Error::NotAllowed { cmd } => write!(f, "{cmd}: not allowed in this session's scope"),
        }
    }
}

impl core::error::Error for Error {}
