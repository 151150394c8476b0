//! Per-opcode statistics without allocation, like the kernel's debugfs `commands/<op>/{n,average}`.

use crate::command::CommandDesc;
use crate::prm::COMMANDS;

/// Counters of one opcode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OpStats {
    /// Commands completed (successfully or not).
    pub count: u64,
    /// Of those, how many failed (delivery, firmware status, timeout, corruption).
    pub errors: u64,
    /// Sum of latencies in microseconds (0 when the host has no clock).
    pub total_us: u64,
    /// Largest latency in microseconds.
    pub max_us: u64,
}

impl OpStats {
    /// Mean latency in microseconds.
    pub fn average_us(&self) -> u64 {
        self.total_us.checked_div(self.count).unwrap_or(0)
    }

    fn record(&mut self, ok: bool, latency_us: Option<u64>) {
        self.count = self.count.saturating_add(1);
        if !ok {
            self.errors = self.errors.saturating_add(1);
        }
        if let Some(l) = latency_us {
            self.total_us = self.total_us.saturating_add(l);
            self.max_us = self.max_us.max(l);
        }
    }
}

const N: usize = COMMANDS.len();

/// The opcodes of [`COMMANDS`], in its (sorted) order, copied at compile time: counting a command looks
/// only at these 2-byte keys, so an image that never lists its statistics does not link the catalog
/// (every command's name and layout descriptions).
const OPCODES_CONST: [u16; N] = opcodes();
static OPCODES: [u16; N] = OPCODES_CONST;

/// Where a command is counted: its opcode's entry, or the bucket of opcodes the specs do not know.
///
/// Found once per command (for a typed command at compile time, with [`StatSlot::of_const`]), by a binary
/// search of a compact copy of the opcodes (480 bytes) rather than of [`COMMANDS`] itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatSlot(u16);

impl StatSlot {
    const UNKNOWN: StatSlot = StatSlot(u16::MAX);

    /// The slot of `opcode`.
    pub fn of(opcode: u16) -> StatSlot {
        match OPCODES.binary_search(&opcode) {
            Ok(i) => StatSlot(i as u16),
            Err(_) => Self::UNKNOWN,
        }
    }

    /// The index of the opcode in [`COMMANDS`] (sorted by opcode), or `None` for an opcode the specs do
    /// not know.
    pub fn index(self) -> Option<usize> {
        (self != Self::UNKNOWN).then_some(usize::from(self.0))
    }

    /// [`StatSlot::of`], evaluated at compile time.
    #[allow(clippy::indexing_slicing)] // PANIC: compile time only; `mid < hi <= N` is in bounds.
    pub const fn of_const(opcode: u16) -> StatSlot {
        let (mut lo, mut hi) = (0usize, N);
        while lo < hi {
            let mid = lo.midpoint(hi);
            let at = OPCODES_CONST[mid];
            if at == opcode {
                return StatSlot(mid as u16);
            } else if at < opcode {
                lo = mid.saturating_add(1);
            } else {
                hi = mid;
            }
        }
        Self::UNKNOWN
    }
}

const _: () = assert!(N < u16::MAX as usize, "statistics slots fit in 16 bits");

#[allow(clippy::indexing_slicing)] // PANIC: evaluated at compile time only; `i < N` is the array length.
const fn opcodes() -> [u16; N] {
    let mut out = [0u16; N];
    let mut i = 0;
    while i < N {
        out[i] = COMMANDS[i].opcode;
        i = i.saturating_add(1);
    }
    out
}

/// Statistics of every opcode of the specs, plus one bucket for opcodes the specs do not know.
#[derive(Debug, Clone)]
pub struct Stats {
    per_opcode: [OpStats; N],
    unknown: OpStats,
    /// Commands that timed out.
    pub timeouts: u64,
    /// Timed-out commands that firmware completed later (their slot was then released).
    pub late_completions: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats { per_opcode: [OpStats::default(); N], unknown: OpStats::default(), timeouts: 0, late_completions: 0 }
    }
}

fn index(opcode: u16) -> Option<usize> {
    OPCODES.binary_search(&opcode).ok()
}

impl Stats {
    /// Records one completed command.
    pub fn record(&mut self, opcode: u16, ok: bool, latency_us: Option<u64>) {
        self.record_at(StatSlot::of(opcode), ok, latency_us);
    }

    /// Records one completed command whose slot is known.
    pub fn record_at(&mut self, slot: StatSlot, ok: bool, latency_us: Option<u64>) {
        match self.per_opcode.get_mut(usize::from(slot.0)) {
            Some(s) => s.record(ok, latency_us),
            None => self.unknown.record(ok, latency_us),
        }
    }

    /// The counters of `opcode` (the shared bucket for opcodes the specs do not know).
    pub fn get(&self, opcode: u16) -> OpStats {
        index(opcode).and_then(|i| self.per_opcode.get(i)).copied().unwrap_or(self.unknown)
    }

    /// Every opcode that ran at least once, with its description.
    pub fn iter(&self) -> impl Iterator<Item = (&'static CommandDesc, &OpStats)> + '_ {
        COMMANDS.iter().copied().zip(self.per_opcode.iter()).filter(|(_, s)| s.count > 0)
    }

    /// Commands whose opcode the specs do not know.
    pub fn unknown(&self) -> OpStats {
        self.unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_time_and_run_time_slots_agree() {
        for (i, op) in OPCODES.iter().enumerate() {
            assert_eq!(StatSlot::of(*op), StatSlot(i as u16));
            assert_eq!(StatSlot::of_const(*op), StatSlot(i as u16));
        }
        for op in [0u16, 0x7fff, u16::MAX] {
            assert_eq!(StatSlot::of(op), StatSlot::UNKNOWN);
            assert_eq!(StatSlot::of_const(op), StatSlot::UNKNOWN);
        }
        let mut s = Stats::default();
        s.record_at(StatSlot::of_const(OPCODES[3]), true, Some(7));
        s.record(0x7fff, false, None);
        assert_eq!(s.get(OPCODES[3]).count, 1);
        assert_eq!(s.get(OPCODES[3]).total_us, 7);
        assert_eq!(s.unknown().errors, 1);
        assert_eq!(StatSlot::of(OPCODES[5]).index(), Some(5));
        assert_eq!(StatSlot::of(0x7fff).index(), None);
    }
}
