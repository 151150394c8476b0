//! The spec file format as `serde` reads it (see `specs/README.md`). Nothing is checked here beyond
//! TOML syntax and types; meaning is checked by lowering and the validation passes.

use serde::Deserialize;
use toml::Spanned;

/// One `specs/*.toml` file.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// `[[layout]]` tables.
    #[serde(default)]
    pub layout: Vec<Spanned<LayoutSpec>>,
    /// `[[enum]]` tables.
    #[serde(default, rename = "enum")]
    pub enums: Vec<Spanned<EnumSpec>>,
    /// `[[flags]]` tables.
    #[serde(default)]
    pub flags: Vec<Spanned<EnumSpec>>,
    /// `[[command]]` tables.
    #[serde(default)]
    pub command: Vec<Spanned<CommandSpec>>,
    /// `[[register]]` tables.
    #[serde(default)]
    pub register: Vec<Spanned<RegisterSpec>>,
    /// `[[cap]]` tables.
    #[serde(default)]
    pub cap: Vec<Spanned<CapSpec>>,
}

/// A `[[layout]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutSpec {
    /// Kernel name.
    pub name: Spanned<String>,
    /// `struct` (default) or `union`.
    #[serde(default)]
    pub kind: Option<Spanned<String>>,
    /// Declared size in bits.
    pub size: Spanned<u64>,
    /// Documentation.
    #[serde(default)]
    pub doc: Option<String>,
    /// Allow a size that is not a whole number of dwords (only used inside arrays).
    #[serde(default)]
    pub subdword: bool,
    /// The fields, in order.
    #[serde(default)]
    pub fields: Vec<Spanned<FieldSpec>>,
}

/// One field line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Kernel field name.
    pub name: Option<String>,
    /// Width in bits (of one element for arrays and tails).
    pub bits: Option<u64>,
    /// A reserved gap of this many bits.
    pub reserved: Option<u64>,
    /// A nested layout.
    pub layout: Option<String>,
    /// Fixed array length.
    pub count: Option<u64>,
    /// Variable-length tail.
    #[serde(default)]
    pub tail: bool,
    /// Explicit bit offset, checked.
    pub at: Option<u64>,
    /// Enum held by the field.
    #[serde(rename = "enum")]
    pub enum_: Option<String>,
    /// Flag set held by the field.
    pub flags: Option<String>,
    /// Two's complement value.
    #[serde(default)]
    pub signed: bool,
    /// Allow crossing a dword.
    #[serde(default)]
    pub straddle: bool,
    /// Documentation.
    pub doc: Option<String>,
}

/// An `[[enum]]` or `[[flags]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumSpec {
    /// Name.
    pub name: Spanned<String>,
    /// Width of the values in bits.
    pub bits: Spanned<u64>,
    /// Documentation.
    #[serde(default)]
    pub doc: Option<String>,
    /// The values.
    #[serde(default)]
    pub values: Vec<Spanned<EnumValueSpec>>,
}

/// One enum value or flag.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumValueSpec {
    /// Name.
    pub name: String,
    /// Value (enums).
    pub value: Option<u64>,
    /// Value bit (flags): the flag is `1 << bit`.
    pub bit: Option<u64>,
    /// The kernel's name of the value.
    pub kernel: Option<String>,
    /// Documentation.
    pub doc: Option<String>,
}

/// A `[[command]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// Kernel name (`QUERY_HCA_CAP`).
    pub name: Spanned<String>,
    /// Opcode.
    pub opcode: Spanned<u64>,
    /// Input layout.
    #[serde(rename = "in")]
    pub input: Option<Spanned<String>>,
    /// Output layout.
    #[serde(rename = "out")]
    pub output: Option<Spanned<String>>,
    /// Least fwctl scope.
    pub scope: Spanned<String>,
    /// Documentation.
    #[serde(default)]
    pub doc: Option<String>,
    /// op_mod meanings.
    #[serde(default)]
    pub op_mod: Vec<Spanned<OpModSpec>>,
}

/// One op_mod meaning.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpModSpec {
    /// Name.
    pub name: String,
    /// Value.
    pub value: u64,
    /// Scope override for this op_mod.
    pub scope: Option<String>,
    /// Documentation.
    pub doc: Option<String>,
}

/// A `[[register]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterSpec {
    /// Name (`PAOS`).
    pub name: Spanned<String>,
    /// Register id.
    pub id: Spanned<u64>,
    /// Layout.
    pub layout: Option<Spanned<String>>,
    /// Documentation.
    #[serde(default)]
    pub doc: Option<String>,
}

/// A `[[cap]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapSpec {
    /// Name (`general`).
    pub name: Spanned<String>,
    /// Cap type.
    #[serde(rename = "type")]
    pub cap_type: Spanned<u64>,
    /// Layout.
    pub layout: Option<Spanned<String>>,
    /// Documentation.
    #[serde(default)]
    pub doc: Option<String>,
}
