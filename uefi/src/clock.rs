//! Time in UEFI: boot services `Stall`, and no monotonic clock.
//!
//! UEFI guarantees no monotonic time source, so [`StallClock::now_us`] returns `None` and the engine counts
//! every wait as a budget of `Stall` calls: each wait stays bounded.

use core::time::Duration;

use mlx5_cmdif::host::Clock;

/// A [`Clock`] that waits with `BootServices.Stall` and has no notion of "now".
#[derive(Debug, Clone, Copy, Default)]
pub struct StallClock;

impl Clock for StallClock {
    fn now_us(&self) -> Option<u64> {
        None
    }

    fn delay_us(&self, us: u32) {
        uefi::boot::stall(Duration::from_micros(u64::from(us)));
    }
}
