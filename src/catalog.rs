//! Look-ups over everything the specs define: layouts by name, commands by opcode or name, access
//! registers by id or name, capability pages by type or name.
//!
//! The tables themselves are generated ([`crate::prm::LAYOUTS`], [`crate::prm::COMMANDS`],
//! [`crate::prm::REGISTERS`], [`crate::prm::CAPS`]); this module only searches them.

use core::fmt;

use crate::command::{CapDesc, CommandDesc, RegisterDesc, Scope};
use crate::layout::LayoutDesc;
use crate::prm::{CapType, Opcode, RegisterId, CAPS, COMMANDS, LAYOUTS, REGISTERS};

/// The layout called `name` (the kernel's name, e.g. `cmd_hca_cap`).
pub fn layout(name: &str) -> Option<&'static LayoutDesc> {
    LAYOUTS.binary_search_by(|l| l.name.cmp(name)).ok().and_then(|i| LAYOUTS.get(i).copied())
}

/// The command with this opcode.
pub fn command(opcode: u16) -> Option<&'static CommandDesc> {
    COMMANDS.binary_search_by_key(&opcode, |c| c.opcode).ok().and_then(|i| COMMANDS.get(i).copied())
}

/// The command called `name` (the kernel's name, e.g. `QUERY_HCA_CAP`; case-insensitive).
pub fn command_by_name(name: &str) -> Option<&'static CommandDesc> {
    COMMANDS.iter().copied().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The access register with this id.
pub fn register(id: u16) -> Option<&'static RegisterDesc> {
    REGISTERS.binary_search_by_key(&id, |r| r.id).ok().and_then(|i| REGISTERS.get(i).copied())
}

/// The access register called `name` (e.g. `PAOS`; case-insensitive).
pub fn register_by_name(name: &str) -> Option<&'static RegisterDesc> {
    REGISTERS.iter().copied().find(|r| r.name.eq_ignore_ascii_case(name))
}

/// The capability page of this cap type.
pub fn cap(cap_type: u16) -> Option<&'static CapDesc> {
    CAPS.binary_search_by_key(&cap_type, |c| c.cap_type).ok().and_then(|i| CAPS.get(i).copied())
}

/// The capability page called `name` (e.g. `general`; case-insensitive).
pub fn cap_by_name(name: &str) -> Option<&'static CapDesc> {
    CAPS.iter().copied().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The least fwctl scope that may run `opcode` with `op_mod`; `None` when no scope may (including opcodes
/// the specs do not know).
pub fn min_scope(opcode: u16, op_mod: u16) -> Option<Scope> {
    command(opcode).and_then(|c| c.scope.min_scope(op_mod))
}

impl Opcode {
    /// What the specs say about this opcode.
    pub fn desc(self) -> Option<&'static CommandDesc> {
        command(self.0)
    }

    /// The kernel's name of this opcode.
    pub fn name(self) -> Option<&'static str> {
        self.desc().map(|c| c.name)
    }
}

impl fmt::Debug for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({:#x})", self.0),
            None => write!(f, "{:#x} (unknown)", self.0),
        }
    }
}

impl RegisterId {
    /// What the specs say about this register.
    pub fn desc(self) -> Option<&'static RegisterDesc> {
        register(self.0)
    }
}

impl fmt::Debug for RegisterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.desc() {
            Some(r) => write!(f, "{}({:#x})", r.name, self.0),
            None => write!(f, "{:#x} (unknown)", self.0),
        }
    }
}

impl CapType {
    /// What the specs say about this capability page.
    pub fn desc(self) -> Option<&'static CapDesc> {
        cap(self.0)
    }
}

impl fmt::Debug for CapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.desc() {
            Some(c) => write!(f, "{}({:#x})", c.name, self.0),
            None => write!(f, "{:#x} (unknown)", self.0),
        }
    }
}
