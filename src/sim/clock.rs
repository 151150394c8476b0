//! A host clock for the device model: `std::time::Instant`.

use std::time::{Duration, Instant};

use crate::host::Clock;

/// A [`Clock`] backed by [`Instant`]: microseconds since the clock was made; `delay_us` spins for short
/// waits and sleeps for long ones.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    origin: Instant,
}

/// Waits at or above this many microseconds sleep instead of spinning.
const SLEEP_FROM_US: u32 = 200;

impl SimClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        SimClock { origin: Instant::now() }
    }
}

impl Default for SimClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SimClock {
    fn now_us(&self) -> Option<u64> {
        Some(u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn delay_us(&self, us: u32) {
        if us == 0 {
            // A poll loop without a delay: one spin hint, no clock reads.
            core::hint::spin_loop();
            return;
        }
        let d = Duration::from_micros(u64::from(us));
        if us >= SLEEP_FROM_US {
            std::thread::sleep(d);
            return;
        }
        let start = Instant::now();
        loop {
            core::hint::spin_loop();
            if start.elapsed() >= d {
                break;
            }
        }
    }
}
