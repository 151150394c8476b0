//! Bounded waiting: every wait of the engine is a [`Deadline`].

use crate::host::Clock;

/// A time budget measured with the host's clock, or — for hosts without one — in delay calls.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    /// Microseconds of budget.
    budget_us: u64,
    /// Clock reading at the start, when the host has a clock.
    start: Option<u64>,
    /// Microseconds spent in delays (for hosts without a clock).
    spent_us: u64,
}

impl Deadline {
    /// Starts a budget of `budget_us` microseconds now.
    pub fn start<C: Clock + ?Sized>(clock: &C, budget_us: u64) -> Self {
        Deadline { budget_us, start: clock.now_us(), spent_us: 0 }
    }

    /// Microseconds used so far.
    pub fn elapsed_us<C: Clock + ?Sized>(&self, clock: &C) -> u64 {
        match (self.start, clock.now_us()) {
            (Some(s), Some(now)) => now.saturating_sub(s),
            _ => self.spent_us,
        }
    }

    /// Microseconds used at clock reading `now_us` (for a caller that already read the clock).
    pub fn elapsed_at(&self, now_us: u64) -> u64 {
        match self.start {
            Some(s) => now_us.saturating_sub(s),
            None => self.spent_us,
        }
    }

    /// Whether the budget is used up.
    pub fn expired<C: Clock + ?Sized>(&self, clock: &C) -> bool {
        self.elapsed_us(clock) >= self.budget_us
    }

    /// Waits `us` microseconds through the host (at least 1 µs is counted, so a budget always ends).
    pub fn delay<C: Clock + ?Sized>(&mut self, clock: &C, us: u32) {
        clock.delay_us(us);
        self.spent_us = self.spent_us.saturating_add(u64::from(us.max(1)));
    }

    /// The budget in microseconds.
    pub fn budget_us(&self) -> u64 {
        self.budget_us
    }
}
