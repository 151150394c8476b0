//! Time from `jiffies` and waits with `udelay`.

use mlx5_cmdif::host::Clock;

use crate::Kernel;

/// The longest single `udelay` (Linux warns about `udelay` beyond a few milliseconds; longer waits are
/// split into pieces of this size, as `mdelay` does).
pub const MAX_UDELAY_US: u32 = 1000;

/// A [`Clock`] from the kernel's tick counter: `now_us` is `jiffies * 1_000_000 / HZ` (so its resolution is
/// one tick — the engine's deadlines only need it to be monotonic), and `delay_us` calls `udelay`.
#[derive(Debug, Clone, Copy)]
pub struct JiffiesClock<'k, K: Kernel> {
    kernel: &'k K,
}

impl<'k, K: Kernel> JiffiesClock<'k, K> {
    /// A clock over `kernel`'s jiffies and udelay.
    pub const fn new(kernel: &'k K) -> Self {
        JiffiesClock { kernel }
    }
}

/// Ticks to microseconds (`jiffies_to_usecs`), saturating.
pub(crate) const fn jiffies_to_usecs(j: u64, hz: u64) -> u64 {
    if hz == 0 {
        return 0;
    }
    let us = (j as u128) * 1_000_000 / (hz as u128);
    if us > u64::MAX as u128 {
        u64::MAX
    } else {
        us as u64
    }
}

impl<K: Kernel> Clock for JiffiesClock<'_, K> {
    fn now_us(&self) -> Option<u64> {
        Some(jiffies_to_usecs(self.kernel.jiffies(), K::HZ))
    }

    fn delay_us(&self, us: u32) {
        let mut left = us;
        loop {
            let step = left.min(MAX_UDELAY_US);
            self.kernel.udelay(step);
            left -= step;
            if left == 0 {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jiffies_convert_like_the_kernel() {
        assert_eq!(jiffies_to_usecs(250, 250), 1_000_000);
        assert_eq!(jiffies_to_usecs(3, 1000), 3000);
        assert_eq!(jiffies_to_usecs(u64::MAX, 100), u64::MAX);
        assert_eq!(jiffies_to_usecs(5, 0), 0);
    }
}
