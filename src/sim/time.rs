//! Device time, for completions held back by [`Delay::Time`](super::Delay::Time).
//!
//! With `std` it is `std::time::Instant`. Without `std` the model has no clock of its own (UEFI offers no
//! monotonic one), so device time is counted in host accesses instead: every BAR0 access and every host
//! read of the queue page advances it by one microsecond. A `Delay::Time(d)` completion then arrives after
//! `d` (in microseconds) host accesses — still "later, while the host keeps polling", which is what the
//! fault is for.

#[cfg(feature = "std")]
mod imp {
    use core::time::Duration;
    use std::time::Instant;

    /// A point in device time.
    pub(crate) type Stamp = Instant;

    /// The device's clock.
    #[derive(Debug)]
    pub(crate) struct DeviceTime;

    impl DeviceTime {
        pub(crate) const fn new() -> Self {
            DeviceTime
        }

        pub(crate) fn now(&self) -> Stamp {
            Instant::now()
        }

        pub(crate) fn after(&self, d: Duration) -> Stamp {
            let now = Instant::now();
            now.checked_add(d).unwrap_or(now)
        }

        /// A host access happened (real time needs no counting).
        pub(crate) fn tick(&self) {}
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    use core::sync::atomic::{AtomicU64, Ordering};
    use core::time::Duration;

    /// A point in device time: host accesses since power-on.
    pub(crate) type Stamp = u64;

    /// The device's clock: a count of host accesses.
    #[derive(Debug)]
    pub(crate) struct DeviceTime {
        ticks: AtomicU64,
    }

    impl DeviceTime {
        pub(crate) const fn new() -> Self {
            DeviceTime { ticks: AtomicU64::new(0) }
        }

        pub(crate) fn now(&self) -> Stamp {
            self.ticks.load(Ordering::Acquire)
        }

        pub(crate) fn after(&self, d: Duration) -> Stamp {
            self.now().saturating_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        }

        /// A host access happened: device time advances by one microsecond.
        pub(crate) fn tick(&self) {
            self.ticks.fetch_add(1, Ordering::AcqRel);
        }
    }
}

pub(crate) use imp::{DeviceTime, Stamp};
