//! Commands as types: opcode, input and output layouts, op_mod meanings and the fwctl security scope.
//!
//! Every opcode of the specs has a [`CommandDesc`] in [`crate::prm::COMMANDS`]; every command whose layouts
//! are in the specs also has a unit type implementing [`Command`], which the engine executes.

use crate::layout::{Layout, LayoutDesc};

/// The fwctl security scope of a session, in the kernel's order and numbering (`enum fwctl_rpc_scope`).
///
/// A session at some scope may run every command whose least scope is at or below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u32)]
pub enum Scope {
    /// `FWCTL_RPC_CONFIGURATION` (0): read and change device configuration.
    Configuration = 0,
    /// `FWCTL_RPC_DEBUG_READ_ONLY` (1): read-only debug information.
    DebugReadOnly = 1,
    /// `FWCTL_RPC_DEBUG_WRITE` (2): debug commands that change device state (taints the kernel).
    DebugWrite = 2,
    /// `FWCTL_RPC_DEBUG_WRITE_FULL` (3): every debug command (needs `CAP_SYS_RAWIO`).
    DebugWriteFull = 3,
}

impl Scope {
    /// Every scope, least first.
    pub const ALL: [Scope; 4] = [Scope::Configuration, Scope::DebugReadOnly, Scope::DebugWrite, Scope::DebugWriteFull];

    /// The scope with fwctl number `n`.
    pub const fn from_u32(n: u32) -> Option<Scope> {
        match n {
            0 => Some(Scope::Configuration),
            1 => Some(Scope::DebugReadOnly),
            2 => Some(Scope::DebugWrite),
            3 => Some(Scope::DebugWriteFull),
            _ => None,
        }
    }

    /// The spec name (`configuration`, `debug_read_only`, `debug_write`, `debug_write_full`).
    pub const fn name(self) -> &'static str {
        match self {
            Scope::Configuration => "configuration",
            Scope::DebugReadOnly => "debug_read_only",
            Scope::DebugWrite => "debug_write",
            Scope::DebugWriteFull => "debug_write_full",
        }
    }

    /// The scope called `name` in the specs.
    pub fn from_name(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Which op_mod values change a command's least scope.
#[derive(Debug, Clone, Copy)]
pub struct ScopeRule {
    /// The least scope for op_mod values not listed (`None`: never allowed through fwctl).
    pub default: Option<Scope>,
    /// Per-op_mod overrides: `(op_mod, least scope)`.
    pub by_op_mod: &'static [(u16, Option<Scope>)],
}

impl ScopeRule {
    /// The least scope that may run the command with this op_mod (`None`: not allowed at any scope).
    pub const fn min_scope(&self, op_mod: u16) -> Option<Scope> {
        let mut rest = self.by_op_mod;
        while let [(m, s), tail @ ..] = rest {
            if *m == op_mod {
                return *s;
            }
            rest = tail;
        }
        self.default
    }

    /// Whether a session at `session` may run the command with this op_mod.
    pub const fn allows(&self, op_mod: u16, session: Scope) -> bool {
        match self.min_scope(op_mod) {
            Some(min) => min as u32 <= session as u32,
            None => false,
        }
    }
}

/// One documented op_mod value of a command.
#[derive(Debug, Clone, Copy)]
pub struct OpModDesc {
    /// The spec's name of the value.
    pub name: &'static str,
    /// The op_mod value.
    pub value: u16,
}

/// Everything the specs say about one opcode.
#[derive(Debug)]
pub struct CommandDesc {
    /// The kernel's name (`QUERY_HCA_CAP`).
    pub name: &'static str,
    /// The opcode.
    pub opcode: u16,
    /// Who may run it through fwctl.
    pub scope: ScopeRule,
    /// The input layout, when the specs have it.
    pub input: Option<&'static LayoutDesc>,
    /// The output layout, when the specs have it.
    pub output: Option<&'static LayoutDesc>,
    /// The documented op_mod values.
    pub op_mods: &'static [OpModDesc],
    /// One-line description.
    pub doc: &'static str,
}

/// A command of the PRM whose layouts are known: what the engine executes.
pub trait Command {
    /// Everything the specs say about the command.
    const DESC: &'static CommandDesc;
    /// The opcode (also in `DESC`).
    const OPCODE: u16;
    /// The input layout (the mailbox `*_in`); its first 16 bytes are the common header.
    type In: Layout;
    /// The output layout (the mailbox `*_out`).
    type Out: Layout;
}

/// An access register of the specs (ACCESS_REG `register_id`).
#[derive(Debug)]
pub struct RegisterDesc {
    /// The register's name (`PAOS`).
    pub name: &'static str,
    /// Its register id.
    pub id: u16,
    /// Its layout, when the specs have it.
    pub layout: Option<&'static LayoutDesc>,
    /// One-line description.
    pub doc: &'static str,
}

/// A capability page of the specs (QUERY_HCA_CAP `op_mod = cap_type << 1 | current`).
#[derive(Debug)]
pub struct CapDesc {
    /// The page's name (`general`).
    pub name: &'static str,
    /// Its cap type.
    pub cap_type: u16,
    /// Its layout, when the specs have it.
    pub layout: Option<&'static LayoutDesc>,
    /// One-line description.
    pub doc: &'static str,
}

/// A layout that is the payload of an access register (ACCESS_REG `register_id = ID`).
pub trait AccessRegister: Layout {
    /// The register id.
    const ID: u16;
    /// What the specs say about the register.
    const INFO: &'static RegisterDesc;
}

/// A layout that is a capability page (QUERY_HCA_CAP `op_mod = CAP_TYPE << 1 | current`).
pub trait CapabilityPage: Layout {
    /// The cap type.
    const CAP_TYPE: u16;
    /// What the specs say about the page.
    const INFO: &'static CapDesc;
}
