//! Bounded waiting: every wait of the engine is a [`Deadline`].

use crate::host::Clock;

/// Where a budget's time is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Not started yet: the first look at the clock starts it ([`Deadline::lazy`]).
    NotYet,
    /// The host clock's reading at the start.
    At(u64),
    /// The host has no clock: only delays count.
    NoClock,
}

/// A time budget measured with the host's clock, or — for hosts without one — in delay calls.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    /// Microseconds of budget.
    budget_us: u64,
    origin: Origin,
    /// Microseconds spent in delays (for hosts without a clock).
    spent_us: u64,
}

impl Deadline {
    /// Starts a budget of `budget_us` microseconds now.
    pub fn start<C: Clock + ?Sized>(clock: &C, budget_us: u64) -> Self {
        Deadline { budget_us, origin: Self::origin_now(clock), spent_us: 0 }
    }

    /// A budget of `budget_us` microseconds that starts at its first look at the clock
    /// ([`Deadline::expired`], [`Deadline::delay`] or [`Deadline::begin`]), so that a wait that ends at
    /// its first check never reads the clock.
    pub const fn lazy(budget_us: u64) -> Self {
        Deadline { budget_us, origin: Origin::NotYet, spent_us: 0 }
    }

    fn origin_now<C: Clock + ?Sized>(clock: &C) -> Origin {
        match clock.now_us() {
            Some(t) => Origin::At(t),
            None => Origin::NoClock,
        }
    }

    /// Starts a lazy budget now (no effect on one that has started).
    pub fn begin<C: Clock + ?Sized>(&mut self, clock: &C) {
        if self.origin == Origin::NotYet {
            self.origin = Self::origin_now(clock);
        }
    }

    /// Whether the budget has started (a lazy one that never looked at the clock has not).
    pub fn started(&self) -> bool {
        self.origin != Origin::NotYet
    }

    /// Microseconds used so far (0 for a budget that has not started).
    pub fn elapsed_us<C: Clock + ?Sized>(&self, clock: &C) -> u64 {
        match self.origin {
            Origin::NotYet => 0,
            Origin::At(s) => clock.now_us().map_or(self.spent_us, |now| now.saturating_sub(s)),
            Origin::NoClock => self.spent_us,
        }
    }

    /// Microseconds used at clock reading `now_us` (for a caller that already read the clock).
    pub fn elapsed_at(&self, now_us: u64) -> u64 {
        match self.origin {
            Origin::NotYet => 0,
            Origin::At(s) => now_us.saturating_sub(s),
            Origin::NoClock => self.spent_us,
        }
    }

    /// Whether the budget is used up; starts a lazy budget (one clock reading either way).
    pub fn expired<C: Clock + ?Sized>(&mut self, clock: &C) -> bool {
        if self.origin == Origin::NotYet {
            self.origin = Self::origin_now(clock);
            return self.budget_us == 0;
        }
        self.elapsed_us(clock) >= self.budget_us
    }

    /// Waits `us` microseconds through the host (at least 1 µs is counted, so a budget always ends);
    /// starts a lazy budget first.
    pub fn delay<C: Clock + ?Sized>(&mut self, clock: &C, us: u32) {
        self.begin(clock);
        clock.delay_us(us);
        self.spent_us = self.spent_us.saturating_add(u64::from(us.max(1)));
    }

    /// The budget in microseconds.
    pub fn budget_us(&self) -> u64 {
        self.budget_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    /// A clock that counts its readings and advances 10 µs per delay.
    struct Counting {
        now: Cell<u64>,
        reads: Cell<u32>,
        has_clock: bool,
    }

    impl Clock for Counting {
        fn now_us(&self) -> Option<u64> {
            self.reads.set(self.reads.get() + 1);
            self.has_clock.then(|| self.now.get())
        }
        fn delay_us(&self, _us: u32) {
            self.now.set(self.now.get() + 10);
        }
    }

    #[test]
    fn lazy_budget_reads_the_clock_only_when_looked_at() {
        let c = Counting { now: Cell::new(1000), reads: Cell::new(0), has_clock: true };
        let mut d = Deadline::lazy(25);
        assert!(!d.started());
        assert_eq!(d.elapsed_us(&c), 0);
        assert_eq!(c.reads.get(), 0, "a budget that has not started reads no clock");
        assert!(!d.expired(&c));
        assert!(d.started());
        d.delay(&c, 1);
        d.delay(&c, 1);
        assert!(!d.expired(&c), "20 µs of 25");
        d.delay(&c, 1);
        assert!(d.expired(&c), "30 µs of 25");
        assert_eq!(d.elapsed_at(1000 + 42), 42);
    }

    #[test]
    fn without_a_clock_delays_count() {
        let c = Counting { now: Cell::new(0), reads: Cell::new(0), has_clock: false };
        let mut d = Deadline::lazy(3);
        for _ in 0..2 {
            assert!(!d.expired(&c));
            d.delay(&c, 0);
        }
        d.delay(&c, 0);
        assert!(d.expired(&c), "three delays of at least 1 µs each use a 3 µs budget");
        assert_eq!(d.elapsed_at(12345), 3);
    }
}
