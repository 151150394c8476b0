//! Flag-set types for generated fields.
//!
//! With the `bitflags` feature (the default) a flag set is a `bitflags` type; in the kernel profile
//! (`--no-default-features`, only `core` and `zerocopy`) it is a plain newtype with the same constants and
//! the same core methods. Either way unknown bits are kept: `from_bits_retain` round-trips any value.

/// Declares a flag set. Used by generated code only.
macro_rules! flag_set {
    (
        $(#[$($meta:tt)*])*
        pub struct $name:ident: $t:ty {
            $( $(#[$($fmeta:tt)*])* const $flag:ident = $value:expr; )*
        }
    ) => {
        #[cfg(feature = "bitflags")]
        ::bitflags::bitflags! {
            $(#[$($meta)*])*
            #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
            #[repr(transparent)]
            pub struct $name: $t {
                $( $(#[$($fmeta)*])* const $flag = $value; )*
                const _ = !0;
            }
        }

        #[cfg(feature = "bitflags")]
        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(stringify!($name))?;
                f.write_str("(")?;
                $crate::layout::fmt_flags(f, &Self::DESC, self.bits() as u64)?;
                f.write_str(")")
            }
        }

        #[cfg(not(feature = "bitflags"))]
        $(#[$($meta)*])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        #[repr(transparent)]
        pub struct $name($t);

        #[cfg(not(feature = "bitflags"))]
        impl $name {
            $( $(#[$($fmeta)*])* pub const $flag: Self = Self($value); )*

            /// The raw bits.
            #[inline]
            pub const fn bits(&self) -> $t {
                self.0
            }

            /// A value with exactly these bits, unknown ones included.
            #[inline]
            pub const fn from_bits_retain(bits: $t) -> Self {
                Self(bits)
            }

            /// No flag set.
            #[inline]
            pub const fn empty() -> Self {
                Self(0)
            }

            /// Whether no bit is set.
            #[inline]
            pub const fn is_empty(&self) -> bool {
                self.0 == 0
            }

            /// Whether every bit of `other` is set in `self`.
            #[inline]
            pub const fn contains(&self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether any bit of `other` is set in `self`.
            #[inline]
            pub const fn intersects(&self, other: Self) -> bool {
                self.0 & other.0 != 0
            }

            /// The union of both sets.
            #[inline]
            pub const fn union(self, other: Self) -> Self {
                Self(self.0 | other.0)
            }
        }

        #[cfg(not(feature = "bitflags"))]
        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(stringify!($name))?;
                f.write_str("(")?;
                $crate::layout::fmt_flags(f, &Self::DESC, self.0 as u64)?;
                f.write_str(")")
            }
        }
    };
}

pub(crate) use flag_set;
