//! Zero-copy sub-views of a fixed byte array, proved in range at compile time.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// A byte array of `O + M + R` bytes seen as three parts: `O` bytes before, the `M` bytes of interest,
/// and `R` bytes after.
///
/// Generated accessors of nested layouts and byte strings transmute a layout's `[u8; O + M + R]` into a
/// `Split` with `zerocopy::transmute_ref!`, which checks the sizes while compiling, and hand out the middle.
/// No offset is computed at run time and nothing can be out of bounds.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Split<const O: usize, const M: usize, const R: usize> {
    before: [u8; O],
    middle: [u8; M],
    after: [u8; R],
}

impl<const O: usize, const M: usize, const R: usize> Split<O, M, R> {
    /// The middle part.
    #[inline]
    pub const fn middle(&self) -> &[u8; M] {
        &self.middle
    }

    /// The middle part, mutably.
    #[inline]
    pub fn middle_mut(&mut self) -> &mut [u8; M] {
        &mut self.middle
    }
}
