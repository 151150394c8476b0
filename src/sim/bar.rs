//! BAR0 of the device: the initialization segment, kept as the bytes of an [`InitialSeg`].
//!
//! Register offsets come from the generated `InitialSeg::FIELD_*` descriptions.

use alloc::boxed::Box;

use crate::layout::{bits, FieldDesc};
use crate::prm::{HealthBuffer, HealthSeverity, HealthSyndrome, InitialSeg, NicInterface};

/// Byte offset of the dword holding a field.
const fn dword(f: FieldDesc) -> usize {
    f.offset / 32 * 4
}

/// Byte offset of `cmdq_addr_h`.
pub(crate) const CMDQ_ADDR_H: usize = dword(InitialSeg::FIELD_CMDQ_PHY_ADDR_63_32);
/// Byte offset of `cmdq_addr_l_sz`.
pub(crate) const CMDQ_ADDR_L: usize = dword(InitialSeg::FIELD_CMDQ_PHY_ADDR_31_12);
/// Byte offset of the command doorbell.
pub(crate) const DOORBELL: usize = dword(InitialSeg::FIELD_COMMAND_DOORBELL_VECTOR);
/// Byte offset of the `initializing` dword.
pub(crate) const INITIALIZING: usize = dword(InitialSeg::FIELD_INITIALIZING);
/// Byte offset of the health counter dword.
pub(crate) const HEALTH_COUNTER: usize = dword(InitialSeg::FIELD_HEALTH_COUNTER);
/// Byte offset of the `cmd_exec_to` dword (multiplier and value).
pub(crate) const CMD_EXEC_TO: usize = dword(InitialSeg::FIELD_CMD_EXEC_TO_MULTIPLIER);
/// Byte offset of the `cmd_q_init_to` dword (multiplier and value).
pub(crate) const CMD_Q_INIT_TO: usize = dword(InitialSeg::FIELD_CMD_Q_INIT_TO_MULTIPLIER);
/// Size of BAR0 as modelled.
pub(crate) const SIZE: usize = InitialSeg::SIZE;

/// Linux reads `nic_interface` as 3 bits ending where the 2-bit ifc field ends (so all ones reads 7).
const NIC_IFC_BIT: usize = InitialSeg::FIELD_NIC_INTERFACE.offset + InitialSeg::FIELD_NIC_INTERFACE.width - 3;

/// The registers.
pub(crate) struct Bar0 {
    seg: Box<InitialSeg>,
}

impl Bar0 {
    pub(crate) fn new() -> Self {
        Bar0 { seg: Box::new(InitialSeg::new()) }
    }

    pub(crate) fn seg(&mut self) -> &mut InitialSeg {
        &mut self.seg
    }

    /// The raw little-endian reading of the 4 bytes at `offset` (all ones outside BAR0).
    pub(crate) fn read32(&self, offset: usize) -> u32 {
        match self.seg.0.get(offset..offset.saturating_add(4)) {
            Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
            _ => u32::MAX,
        }
    }

    /// Writes a big-endian register value at a byte offset.
    pub(crate) fn set_be32(&mut self, offset: usize, v: u32) {
        bits::set_be32(&mut self.seg.0, offset, v);
    }

    pub(crate) fn set_initializing(&mut self, v: bool) {
        self.seg.set_initializing(v);
    }

    /// The NIC interface mode, 3 bits as Linux reads it.
    pub(crate) fn nic_interface(&self) -> NicInterface {
        NicInterface(bits::get32(&self.seg.0, NIC_IFC_BIT, 3) as u8)
    }

    pub(crate) fn set_nic_interface(&mut self, v: NicInterface) {
        bits::set32(&mut self.seg.0, NIC_IFC_BIT, 3, u32::from(v.0));
    }

    /// The command queue bus address the host wrote.
    pub(crate) fn cmdq_addr(&self) -> u64 {
        (u64::from(self.seg.cmdq_phy_addr_63_32()) << 32)
            | (u64::from(self.seg.cmdq_phy_addr_31_12()) << (32 - InitialSeg::FIELD_CMDQ_PHY_ADDR_31_12.width))
    }

    /// A host write of `cmdq_addr_l_sz` (big-endian value): address bits and NIC interface mode; the log
    /// size and stride stay what the device reports.
    pub(crate) fn write_cmdq_lo(&mut self, v: u32) {
        let (size, stride) = (self.seg.log_cmdq_size(), self.seg.log_cmdq_stride());
        self.set_be32(CMDQ_ADDR_L, v);
        self.seg.set_log_cmdq_size(size);
        self.seg.set_log_cmdq_stride(stride);
    }

    pub(crate) fn bump_health_counter(&mut self) {
        let c = self.seg.health_counter();
        self.seg.set_health_counter(c.wrapping_add(1));
    }

    pub(crate) fn health(&mut self) -> &mut HealthBuffer {
        self.seg.health_buffer_mut()
    }

    /// Records a fatal health event.
    pub(crate) fn raise_health(&mut self, synd: HealthSyndrome, ext: u16) {
        let h = self.health();
        h.set_synd(synd);
        h.set_ext_synd(ext);
        h.set_rfr(true);
        h.set_valid(true);
        h.set_severity(HealthSeverity::CRITICAL);
    }
}
