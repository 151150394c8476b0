//! Static descriptions of layouts, fields, enums and flag sets.
//!
//! Every generated layout carries a [`LayoutDesc`]: its name, size and the list of its fields with their
//! PRM bit offsets, widths and kinds. Tools decode and pretty-print any layout by name from these tables
//! (the CLI's `decode`, the `Debug` impls), without per-layout code.

use core::fmt;

use super::bits;

/// Whether a layout is a struct (fields one after another) or a union (every member at offset 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LayoutKind {
    /// Fields one after another (`struct mlx5_ifc_X_bits`).
    Struct,
    /// Alternatives at offset 0 (`union mlx5_ifc_X_bits`).
    Union,
}

/// How many elements a field has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Count {
    /// A single value.
    One,
    /// A fixed array of this many elements.
    Fixed(usize),
    /// A variable-length array after the fixed part of the layout.
    Tail,
}

/// What a field holds.
#[derive(Clone, Copy)]
pub enum FieldKind {
    /// A reserved gap: no accessors, kept zero.
    Reserved,
    /// A single-bit flag.
    Bool,
    /// An unsigned integer.
    Uint,
    /// A two's-complement integer.
    Sint,
    /// A byte string (a field wider than 64 bits on byte boundaries).
    Bytes,
    /// A value of an open enum.
    Enum(&'static EnumDesc),
    /// A set of flags.
    Flags(&'static FlagsDesc),
    /// A nested layout.
    Layout(&'static LayoutDesc),
}

impl fmt::Debug for FieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldKind::Reserved => f.write_str("Reserved"),
            FieldKind::Bool => f.write_str("Bool"),
            FieldKind::Uint => f.write_str("Uint"),
            FieldKind::Sint => f.write_str("Sint"),
            FieldKind::Bytes => f.write_str("Bytes"),
            FieldKind::Enum(e) => write!(f, "Enum({})", e.name),
            FieldKind::Flags(e) => write!(f, "Flags({})", e.name),
            FieldKind::Layout(l) => write!(f, "Layout({})", l.name),
        }
    }
}

/// One field of a layout.
#[derive(Debug, Clone, Copy)]
pub struct FieldDesc {
    /// The kernel's field name (`reserved_at_<hex>` for gaps).
    pub name: &'static str,
    /// PRM bit offset from the start of the layout (bit 0 = MSB of byte 0).
    pub offset: usize,
    /// Width in bits of the field, or of one element of an array.
    pub width: usize,
    /// Single value, fixed array or variable tail.
    pub count: Count,
    /// What the field holds.
    pub kind: FieldKind,
}

/// A layout of the PRM.
#[derive(Debug)]
pub struct LayoutDesc {
    /// The kernel's name (without `mlx5_ifc_` and `_bits`).
    pub name: &'static str,
    /// Struct or union.
    pub kind: LayoutKind,
    /// Size of the fixed part in bits.
    pub size_bits: usize,
    /// Every field in order, reserved gaps included.
    pub fields: &'static [FieldDesc],
    /// One-line description.
    pub doc: &'static str,
}

/// One named value of an enum.
#[derive(Debug, Clone, Copy)]
pub struct EnumValue {
    /// The spec's name of the value.
    pub name: &'static str,
    /// The value.
    pub value: u64,
}

/// An open enum: the values a field may hold. Values it does not name are still valid.
#[derive(Debug)]
pub struct EnumDesc {
    /// The spec's name of the enum.
    pub name: &'static str,
    /// The named values.
    pub values: &'static [EnumValue],
}

impl EnumDesc {
    /// The name of `value`, if the enum names it.
    pub fn name_of(&self, value: u64) -> Option<&'static str> {
        self.values.iter().find(|v| v.value == value).map(|v| v.name)
    }

    /// The value called `name`, if any.
    pub fn value_of(&self, name: &str) -> Option<u64> {
        self.values.iter().find(|v| v.name == name).map(|v| v.value)
    }
}

/// A flag set: which value bits have names.
#[derive(Debug)]
pub struct FlagsDesc {
    /// The spec's name of the flag set.
    pub name: &'static str,
    /// The named flags, as value bits (`1 << n`).
    pub values: &'static [EnumValue],
}

/// A decoded field value.
#[derive(Clone, Copy)]
pub enum Value<'a> {
    /// A single bit.
    Bool(bool),
    /// An unsigned integer.
    Uint(u64),
    /// A signed integer.
    Sint(i64),
    /// Raw bytes.
    Bytes(&'a [u8]),
    /// An enum value (named or not).
    Enum(&'static EnumDesc, u64),
    /// A flag set value (unknown bits kept).
    Flags(&'static FlagsDesc, u64),
    /// A nested layout's bytes.
    Layout(&'static LayoutDesc, &'a [u8]),
}

impl FieldDesc {
    /// Number of elements (1 for a single value; `None` for a variable tail).
    pub const fn elements(&self) -> Option<usize> {
        match self.count {
            Count::One => Some(1),
            Count::Fixed(n) => Some(n),
            Count::Tail => None,
        }
    }

    /// Bits the field occupies in the fixed part of its layout.
    pub const fn total_bits(&self) -> usize {
        match self.count {
            Count::One => self.width,
            Count::Fixed(n) => self.width.saturating_mul(n),
            Count::Tail => 0,
        }
    }

    /// Whether the field is a reserved gap.
    pub const fn is_reserved(&self) -> bool {
        matches!(self.kind, FieldKind::Reserved)
    }

    /// Decodes element `index` of this field from `bytes`, the bytes of the whole layout (including the
    /// tail, for tail fields). Returns `None` when the element is not inside `bytes` or the index is out of
    /// range; never panics.
    pub fn read<'a>(&self, bytes: &'a [u8], index: usize) -> Option<Value<'a>> {
        if let Some(n) = self.elements() {
            if index >= n {
                return None;
            }
        }
        let bit = self.offset.checked_add(index.checked_mul(self.width)?)?;
        let w = u32::try_from(self.width).ok()?;
        match self.kind {
            FieldKind::Layout(l) => {
                let start = bit / 8;
                let sub = bytes.get(start..start.checked_add(self.width / 8)?)?;
                Some(Value::Layout(l, sub))
            }
            FieldKind::Bytes => self.byte_string(bytes, bit),
            FieldKind::Reserved | FieldKind::Uint => {
                if w > 64 {
                    return self.byte_string(bytes, bit);
                }
                bits::get_any(bytes, bit, w).map(Value::Uint)
            }
            FieldKind::Bool => bits::get_any(bytes, bit, w).map(|v| Value::Bool(v != 0)),
            FieldKind::Sint => bits::get_any(bytes, bit, w).map(|v| Value::Sint(bits::sign_extend(v, w))),
            FieldKind::Enum(e) => bits::get_any(bytes, bit, w).map(|v| Value::Enum(e, v)),
            FieldKind::Flags(fl) => bits::get_any(bytes, bit, w).map(|v| Value::Flags(fl, v)),
        }
    }

    /// A field too wide for an integer, as the bytes it covers; `None` unless it starts and ends on byte
    /// boundaries inside `bytes` (a partial byte cannot be handed out without its neighbours' bits).
    fn byte_string<'a>(&self, bytes: &'a [u8], bit: usize) -> Option<Value<'a>> {
        if !bit.is_multiple_of(8) || !self.width.is_multiple_of(8) {
            return None;
        }
        let start = bit / 8;
        bytes.get(start..start.checked_add(self.width / 8)?).map(Value::Bytes)
    }

    /// Writes an integer into element `index` of this field (any scalar kind). Returns `None` when the
    /// field is not a scalar of at most 64 bits or the element is not inside `bytes`.
    pub fn write(&self, bytes: &mut [u8], index: usize, value: u64) -> Option<()> {
        if matches!(self.kind, FieldKind::Layout(_) | FieldKind::Bytes | FieldKind::Reserved) {
            return None;
        }
        if let Some(n) = self.elements() {
            if index >= n {
                return None;
            }
        }
        let bit = self.offset.checked_add(index.checked_mul(self.width)?)?;
        bits::set_any(bytes, bit, u32::try_from(self.width).ok()?, value)
    }
}

impl LayoutDesc {
    /// Size of the fixed part in bytes.
    pub const fn size_bytes(&self) -> usize {
        self.size_bits / 8
    }

    /// The field called `name`, if any.
    pub fn field(&self, name: &str) -> Option<&'static FieldDesc> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The variable-length tail field, if the layout has one.
    pub fn tail(&self) -> Option<&'static FieldDesc> {
        self.fields.iter().find(|f| f.count == Count::Tail)
    }

    /// A `Debug` view of `bytes` decoded as this layout.
    pub const fn view<'a>(&'static self, bytes: &'a [u8]) -> View<'a> {
        View { desc: self, bytes }
    }
}

/// `Debug` of some bytes decoded as a layout: field names and values, enums by name, reserved gaps left
/// out. Fields that lie beyond `bytes` are omitted.
#[derive(Clone, Copy)]
pub struct View<'a> {
    desc: &'static LayoutDesc,
    bytes: &'a [u8],
}

struct FieldView<'a> {
    field: &'static FieldDesc,
    bytes: &'a [u8],
}

struct Hex<'a>(&'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Formats an enum value: its name, or the hex value marked unknown.
pub fn fmt_enum(f: &mut fmt::Formatter<'_>, desc: &EnumDesc, value: u64) -> fmt::Result {
    match desc.name_of(value) {
        Some(n) => f.write_str(n),
        None => write!(f, "{value:#x} (unknown)"),
    }
}

/// Formats a flag set value: the named flags joined with `|`, unknown bits in hex.
pub fn fmt_flags(f: &mut fmt::Formatter<'_>, desc: &FlagsDesc, value: u64) -> fmt::Result {
    let mut rest = value;
    let mut first = true;
    for v in desc.values {
        if value & v.value != 0 && v.value != 0 {
            if !first {
                f.write_str(" | ")?;
            }
            f.write_str(v.name)?;
            first = false;
            rest &= !v.value;
        }
    }
    if rest != 0 || first {
        if !first {
            f.write_str(" | ")?;
        }
        write!(f, "{rest:#x}")?;
    }
    Ok(())
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Uint(v) => write!(f, "{v:#x}"),
            Value::Sint(v) => write!(f, "{v}"),
            Value::Bytes(b) => Hex(b).fmt(f),
            Value::Enum(e, v) => fmt_enum(f, e, v),
            Value::Flags(fl, v) => fmt_flags(f, fl, v),
            Value::Layout(l, b) => l.view(b).fmt(f),
        }
    }
}

impl fmt::Debug for FieldView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field.count {
            Count::One => match self.field.read(self.bytes, 0) {
                Some(v) => v.fmt(f),
                None => f.write_str("<out of range>"),
            },
            Count::Fixed(n) => {
                if self.field.width == 8 && matches!(self.field.kind, FieldKind::Uint) {
                    let start = self.field.offset / 8;
                    return match self.bytes.get(start..start.saturating_add(n)) {
                        Some(b) => Hex(b).fmt(f),
                        None => f.write_str("<out of range>"),
                    };
                }
                let mut l = f.debug_list();
                for i in 0..n {
                    if let Some(v) = self.field.read(self.bytes, i) {
                        l.entry(&v);
                    }
                }
                l.finish()
            }
            Count::Tail => f.write_str("[..]"),
        }
    }
}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct(self.desc.name);
        for field in self.desc.fields {
            if field.is_reserved() || field.count == Count::Tail {
                continue;
            }
            if field.offset.saturating_add(field.total_bits()).div_ceil(8) > self.bytes.len() {
                continue;
            }
            s.field(field.name, &FieldView { field, bytes: self.bytes });
        }
        s.finish()
    }
}
