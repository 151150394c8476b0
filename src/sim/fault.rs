//! Fault injection: what can go wrong, and when it is armed.
//!
//! Command faults ([`Fault::is_command_fault`]) are armed with [`SimDevice::arm`](super::SimDevice::arm)
//! for the next command, the next N commands or every command of an opcode, and act on the command they
//! match. Device faults (surprise removal, stuck `initializing`, a health syndrome, a NIC interface mode)
//! act on the whole device: [`SimDevice::inject`](super::SimDevice::inject) applies them at once, and
//! arming one makes it happen when the matching command arrives (the device then does not complete that
//! command, except for [`Fault::StuckInitializing`]).

use alloc::vec::Vec;
use core::time::Duration;

use crate::prm::{CmdStatus, DeliveryStatus, HealthSyndrome, NicInterface};

/// When a delayed completion is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    /// After the host has read the queue page this many times (its polls of the entry).
    Polls(u32),
    /// After this much time (the device thread, or any host poll or MMIO access, notices it).
    Time(Duration),
}

/// What makes a late completion (one the host has probably given up on) finally arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LateTrigger {
    /// After this many further MMIO accesses to BAR0.
    MmioAccesses(u32),
    /// Only when the test calls [`SimDevice::complete_late`](super::SimDevice::complete_late).
    Manual,
}

/// Something the device model can do wrong on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Execute the command but write its completion later.
    Delayed(Delay),
    /// Never complete the command: the entry stays owned by hardware.
    NoCompletion,
    /// Complete much later, when the trigger fires (the slot must stay quarantined until then).
    Late(LateTrigger),
    /// Complete with a token different from the one the host wrote (entry and output blocks); the
    /// signatures are computed over the wrong token, so only the token is wrong.
    CorruptToken,
    /// Complete with a wrong entry signature.
    CorruptEntrySignature,
    /// Complete with a wrong signature in the first output mailbox block (no effect without blocks).
    CorruptOutputSignature,
    /// Complete with a wrong block number in the first output mailbox block, signatures recomputed (no
    /// effect without blocks).
    CorruptOutputBlockNumber,
    /// Complete with delivery status 0x8 (bad output length) and no output.
    BadOutputLength,
    /// Execute and write the output, but report this delivery status.
    WrongDeliveryStatus(DeliveryStatus),
    /// Do not execute; answer with this firmware status and syndrome.
    FwStatus {
        /// The status byte of the output header.
        status: CmdStatus,
        /// The syndrome of the output header.
        syndrome: u32,
    },
    /// The device disappears: every BAR0 read returns all ones, writes are dropped and nothing completes.
    SurpriseRemoval,
    /// The `initializing` bit stays set until [`SimDevice::release_initializing`](super::SimDevice::release_initializing).
    StuckInitializing,
    /// Firmware reports a fatal health event: the health buffer gets the syndrome, RFR, valid and
    /// severity "critical", the health counter stops, and commands no longer complete.
    Health {
        /// The health syndrome.
        syndrome: HealthSyndrome,
        /// The extended syndrome.
        ext_syndrome: u16,
    },
    /// The NIC interface mode changes (e.g. `DISABLED`, `SW_RESET`); in any mode but `FULL_DRIVER`
    /// commands no longer complete.
    NicInterface(NicInterface),
}

impl Fault {
    /// Whether the fault acts on one command (as opposed to the whole device).
    pub const fn is_command_fault(&self) -> bool {
        !matches!(
            self,
            Fault::SurpriseRemoval | Fault::StuckInitializing | Fault::Health { .. } | Fault::NicInterface(_)
        )
    }
}

/// Which commands an armed fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// The next command delivered (whatever its opcode).
    Next,
    /// The next `n` commands.
    NextN(u32),
    /// Every command with this opcode, until [`SimDevice::disarm_all`](super::SimDevice::disarm_all).
    Opcode(u16),
    /// The next `n` commands with this opcode.
    OpcodeN(u16, u32),
}

/// The armed faults.
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    armed: Vec<(Fault, When)>,
}

impl FaultTable {
    pub(crate) fn arm(&mut self, fault: Fault, when: When) {
        self.armed.push((fault, when));
    }

    pub(crate) fn clear(&mut self) {
        self.armed.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.armed.len()
    }

    /// The faults that apply to a command with `opcode`, consuming one use of each.
    pub(crate) fn take_for(&mut self, opcode: u16) -> Vec<Fault> {
        let mut hit = Vec::new();
        if self.armed.is_empty() {
            return hit;
        }
        self.armed.retain_mut(|(fault, when)| {
            let (matches, keep) = match when {
                When::Next => (true, false),
                When::NextN(0) | When::OpcodeN(_, 0) => (false, false),
                When::NextN(n) => {
                    *n = n.saturating_sub(1);
                    (true, *n > 0)
                }
                When::Opcode(op) => (*op == opcode, true),
                When::OpcodeN(op, n) if *op == opcode => {
                    *n = n.saturating_sub(1);
                    (true, *n > 0)
                }
                When::OpcodeN(..) => (false, true),
            };
            if matches {
                hit.push(*fault);
            }
            keep
        });
        hit
    }
}
