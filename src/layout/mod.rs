//! The runtime of the generated layouts: bit arithmetic, static descriptions, zero-copy views and flag sets.
//!
//! Generated code in [`crate::prm`] is built only from the items here; hand-written code reads and writes
//! layouts through the generated accessors, never through raw offsets.

pub mod bits;
mod desc;
mod flags;
mod split;

pub use desc::{
    fmt_enum, fmt_flags, Count, EnumDesc, EnumValue, FieldDesc, FieldKind, FlagsDesc, LayoutDesc, LayoutKind, Value,
    View,
};
pub(crate) use flags::flag_set;
pub use split::Split;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// A layout of the PRM: a `#[repr(transparent)]` byte array with typed accessors.
///
/// Implemented by every generated layout. `SIZE` is the size of the fixed part in bytes; layouts with a
/// variable tail (such as `manage_pages_in.pas`) are followed by tail elements in the same buffer.
pub trait Layout: FromBytes + IntoBytes + KnownLayout + Immutable + Unaligned + Copy + 'static {
    /// Size of the fixed part in bytes.
    const SIZE: usize;
    /// The static description of the fields.
    const DESC: &'static LayoutDesc;

    /// A `Debug` view of the fields.
    fn view(&self) -> View<'_> {
        Self::DESC.view(self.as_bytes())
    }
}

/// An array index beyond the array's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OutOfRange {
    /// The index asked for.
    pub index: usize,
    /// The number of elements.
    pub len: usize,
}

impl core::fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "index {} is out of range for {} elements", self.index, self.len)
    }
}
