//! What an importer reads from an upstream source: layouts with offsets, enums, opcodes and register ids.
//! Both importers ([`super::ifc`] for `mlx5_ifc.h`, [`super::json`] for the reference JSON) produce this;
//! [`super::merge`] turns it, together with the existing specs, into spec files.

use std::collections::BTreeMap;

/// How many elements a field has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HCount {
    /// A single value.
    One,
    /// A fixed array.
    Fixed(u64),
    /// A flexible array (`[]`, `[0]`, `DECLARE_FLEX_ARRAY`).
    Tail,
}

/// What a field is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HTy {
    /// `u8 name[w]`: plain bits.
    Bits,
    /// A `reserved*` gap.
    Reserved,
    /// A nested struct or union, by layout name (without `mlx5_ifc_` and `_bits`).
    Layout(String),
}

/// One field of an upstream layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HField {
    /// The kernel's field name (for anonymous unions: `anon<n>`).
    pub name: String,
    /// PRM bit offset.
    pub offset: u64,
    /// Width of the field, or of one element for arrays and tails.
    pub width: u64,
    /// Single, array or tail.
    pub count: HCount,
    /// Bits, reserved or nested layout.
    pub ty: HTy,
}

/// One upstream layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HLayout {
    /// Name without `mlx5_ifc_` and `_bits`.
    pub name: String,
    /// A union rather than a struct.
    pub union: bool,
    /// Size in bits.
    pub size: u64,
    /// Fields in order.
    pub fields: Vec<HField>,
}

/// An upstream enum: kernel value names and values, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HEnum {
    /// The C enum's tag, if it has one.
    pub tag: Option<String>,
    /// `(MLX5_..., value)`.
    pub values: Vec<(String, u64)>,
}

/// Everything an importer found.
#[derive(Debug, Clone, Default)]
pub struct Header {
    /// Layouts in source order (nested anonymous unions come right before their parent).
    pub layouts: Vec<HLayout>,
    /// Enums other than the opcode enum, in source order.
    pub enums: Vec<HEnum>,
    /// `(COMMAND_NAME, opcode)` without the `MLX5_CMD_OP_` prefix.
    pub opcodes: Vec<(String, u64)>,
    /// `(REGISTER_NAME, id)`.
    pub registers: Vec<(String, u64)>,
    /// Least fwctl scope of a command by name, where the source knows it.
    pub scopes: BTreeMap<String, String>,
}

/// Whether a kernel field name denotes a reserved gap (`reserved_at_10`, `reserved_0`, once `resereved_at_54`).
pub fn is_reserved_name(name: &str) -> bool {
    name.starts_with("reserved") || name.starts_with("resereved")
}

/// `mlx5_ifc_cmd_hca_cap_bits` → `cmd_hca_cap`; `mlx5_ifc_qcam_access_reg_cap_mask` → `qcam_access_reg_cap_mask`.
pub fn layout_name(c_name: &str) -> String {
    let s = c_name.strip_prefix("mlx5_ifc_").unwrap_or(c_name);
    s.strip_suffix("_bits").unwrap_or(s).to_string()
}
