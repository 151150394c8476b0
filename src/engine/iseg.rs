//! The initialization segment at the start of BAR0, read and written through the host's [`Mmio`].
//!
//! Every offset comes from the generated [`InitialSeg`] and [`HealthBuffer`] descriptions; the only
//! arithmetic here is the big-endian conversion of a bus dword (as Linux's `ioread32be`).

use crate::host::Mmio;
use crate::layout::{bits, FieldDesc};
use crate::prm::{HealthBuffer, HealthSeverity, HealthSyndrome, InitialSeg, NicInterface, TimeoutUnit};

use super::error::DeadReason;

/// The value to pass to [`Mmio::write32`] so that the device's big-endian register holds `v`.
#[inline]
pub fn to_bus(v: u32) -> u32 {
    u32::from_le_bytes(v.to_be_bytes())
}

/// The register value of a raw [`Mmio::read32`] result.
#[inline]
pub fn from_bus(raw: u32) -> u32 {
    u32::from_be_bytes(raw.to_le_bytes())
}

/// Byte offset in BAR0 of the dword that holds `f` (a field of the initialization segment).
#[inline]
pub const fn dword_of(f: &FieldDesc) -> usize {
    (f.offset / 32).saturating_mul(4)
}

/// Typed access to the initialization segment.
pub struct Iseg<'a, M: Mmio + ?Sized> {
    mmio: &'a M,
}

impl<'a, M: Mmio + ?Sized> Iseg<'a, M> {
    /// Wraps the host's BAR0 access.
    pub fn new(mmio: &'a M) -> Self {
        Iseg { mmio }
    }

    /// The big-endian dword at byte offset `byte`.
    pub fn dword(&self, byte: usize) -> u32 {
        from_bus(self.mmio.read32(byte))
    }

    /// Reads a field of at most 32 bits that lies in one dword, `base_bit` bits into BAR0.
    fn read_at(&self, base_bit: usize, f: &FieldDesc) -> u32 {
        let bit = base_bit.saturating_add(f.offset);
        let d = self.dword((bit / 32).saturating_mul(4));
        bits::get32(&d.to_be_bytes(), bit % 32, f.width as u32)
    }

    /// Reads a field of the initialization segment.
    pub fn read(&self, f: &FieldDesc) -> u32 {
        self.read_at(0, f)
    }

    /// Writes the whole dword that holds `f` (for registers the field fills: doorbell, address high).
    pub fn write_dword(&self, f: &FieldDesc, v: u32) {
        self.mmio.write32(dword_of(f), to_bus(v));
    }

    /// Rings the doorbell of `slot`.
    pub fn ring(&self, slot: u8) {
        self.write_dword(&InitialSeg::FIELD_COMMAND_DOORBELL_VECTOR, 1u32 << (slot & 31));
    }

    /// Whether firmware still reports `initializing`.
    pub fn initializing(&self) -> bool {
        self.read(&InitialSeg::FIELD_INITIALIZING) != 0
    }

    /// Whether the command-queue address dword reads all ones (the function is gone).
    pub fn all_ones(&self) -> bool {
        self.dword(dword_of(&InitialSeg::FIELD_NIC_INTERFACE)) == u32::MAX
    }

    /// Programs the command queue's bus address: high half first, then the low half with
    /// `nic_interface` = full driver (the low 12 bits zero), as the PRM and Linux do.
    pub fn set_queue_address(&self, addr: u64) {
        self.write_dword(&InitialSeg::FIELD_CMDQ_PHY_ADDR_63_32, (addr >> 32) as u32);
        let mut low = [0u8; 4];
        let hi_field = InitialSeg::FIELD_CMDQ_PHY_ADDR_31_12;
        bits::set32(&mut low, hi_field.offset % 32, hi_field.width as u32, (addr as u32) >> 12);
        self.mmio.write32(dword_of(&hi_field), to_bus(u32::from_be_bytes(low)));
    }

    /// A timeout advertised by firmware in microseconds, or `None` when it is not advertised (0).
    pub fn timeout_us(&self, multiplier: &FieldDesc, value: &FieldDesc) -> Option<u64> {
        let v = u64::from(self.read(value));
        if v == 0 {
            return None;
        }
        // Linux uses only the low two bits of the multiplier.
        let unit = match TimeoutUnit((self.read(multiplier) & 0x3) as u8) {
            TimeoutUnit::MILLISECONDS => 1_000,
            TimeoutUnit::SECONDS => 1_000_000,
            TimeoutUnit::MINUTES => 60_000_000,
            _ => 3_600_000_000,
        };
        Some(v.saturating_mul(unit))
    }

    /// A copy of the 64-byte health buffer.
    pub fn health_buffer(&self) -> HealthBuffer {
        let base = InitialSeg::FIELD_HEALTH_BUFFER.offset / 8;
        let mut hb = HealthBuffer::ZERO;
        for (i, chunk) in hb.0.chunks_exact_mut(4).enumerate() {
            chunk.copy_from_slice(&self.dword(base.saturating_add(i.saturating_mul(4))).to_be_bytes());
        }
        hb
    }

    /// Reads the health state.
    pub fn health(&self) -> HealthReport {
        let hb = self.health_buffer();
        let iface = NicInterface(self.read(&InitialSeg::FIELD_NIC_INTERFACE) as u8);
        let counter = self.read(&InitialSeg::FIELD_HEALTH_COUNTER);
        let fatal = if hb.fw_version() == u32::MAX || self.all_ones() {
            Some(DeadReason::SurpriseRemoval)
        } else if iface == NicInterface::DISABLED {
            Some(DeadReason::NicInterfaceDisabled)
        } else if u32::from(iface.0) == NicInterface::SW_RESET.0 as u32 & field_mask(&InitialSeg::FIELD_NIC_INTERFACE) {
            // The field is two bits wide; software reset (7) reads as its low bits.
            Some(DeadReason::SoftwareReset)
        } else if hb.rfr() && hb.synd() != HealthSyndrome(0) {
            Some(DeadReason::FatalHealth { syndrome: hb.synd(), ext_syndrome: hb.ext_synd() })
        } else {
            None
        };
        HealthReport {
            syndrome: hb.synd(),
            ext_syndrome: hb.ext_synd(),
            severity: if hb.valid() { Some(hb.severity()) } else { None },
            reset_required: hb.rfr(),
            fw_version: hb.fw_version(),
            hw_id: hb.hw_id(),
            irisc_index: hb.irisc_index(),
            health_counter: counter,
            nic_interface: iface,
            fatal,
            counter_misses: 0,
        }
    }
}

const fn field_mask(f: &FieldDesc) -> u32 {
    bits::mask(f.width as u32) as u32
}

/// Consecutive unchanged health counters that make the device "health compromised" (kernel `MAX_MISSES`).
pub const MAX_COUNTER_MISSES: u8 = 3;

/// What the health buffer and the initialization segment say about the device's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HealthReport {
    /// Health syndrome (0 = healthy).
    pub syndrome: HealthSyndrome,
    /// Extended syndrome.
    pub ext_syndrome: u16,
    /// Severity, when firmware marked it valid.
    pub severity: Option<HealthSeverity>,
    /// The reset-required (RFR) bit.
    pub reset_required: bool,
    /// Firmware version word of the health buffer.
    pub fw_version: u32,
    /// Hardware id.
    pub hw_id: u32,
    /// Which internal processor reported.
    pub irisc_index: u8,
    /// The free-running health counter (a stalled counter means firmware is not alive).
    pub health_counter: u32,
    /// The command-interface mode.
    pub nic_interface: NicInterface,
    /// Set when the device must be considered dead.
    pub fatal: Option<DeadReason>,
    /// How many consecutive health checks saw the same health counter (filled in by
    /// [`super::Cmdq::health`]; Linux reports "health compromised" at 3).
    pub counter_misses: u8,
}

impl HealthReport {
    /// Whether nothing is wrong.
    pub fn is_healthy(&self) -> bool {
        self.fatal.is_none() && self.syndrome == HealthSyndrome(0) && !self.compromised()
    }

    /// Whether the health counter stopped advancing for [`MAX_COUNTER_MISSES`] checks in a row: firmware
    /// is not alive, though nothing fatal is reported yet.
    pub fn compromised(&self) -> bool {
        self.counter_misses >= MAX_COUNTER_MISSES
    }
}
