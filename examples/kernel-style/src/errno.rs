//! Errors as the kernel returns them: negative errno values.

use mlx5_cmdif::engine::Error;

/// A kernel error code: a negative errno (`-ETIMEDOUT`, `-EIO`, ...), as `int` returns carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(i32);

impl Errno {
    /// `-ENOMEM`: an allocation failed.
    pub const ENOMEM: Errno = Errno(-12);
    /// `-ENODEV`: no usable device.
    pub const ENODEV: Errno = Errno(-19);

    /// The value as a C function returns it (negative).
    pub const fn to_errno(self) -> i32 {
        self.0
    }
}

impl From<Error> for Errno {
    /// The errno `mlx5_core` returns for the same failure (`Error::errno()` is positive; kernel returns are
    /// its negation). A firmware "OK" that still failed (never produced by the engine) becomes `-EIO`.
    fn from(e: Error) -> Self {
        match e.errno() {
            n if n > 0 => Errno(-n),
            _ => Errno(-5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlx5_cmdif::engine::DeadReason;

    #[test]
    fn engine_errors_become_negative_errnos() {
        let e = Error::DeviceDead(DeadReason::SurpriseRemoval);
        assert_eq!(Errno::from(e).to_errno(), -6); // -ENXIO
    }
}
