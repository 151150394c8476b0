//! The hardware floor of a cross-core handoff: two threads handing one cache line back and forth.
//!
//! The main thread writes an odd number into a cache-line-aligned word; a partner thread spinning on the
//! word sees it and writes the next even number; the main thread spins until it sees that. One
//! [`PingPong::round_trip`] is one handoff there and back, which is what an inline command on a device
//! thread needs at the least (doorbell there, completion back).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// One cache line, alone.
#[repr(C, align(128))]
struct Line {
    word: AtomicU64,
}

struct Shared {
    line: Line,
    stop: AtomicBool,
}

/// A partner thread bouncing a cache line back.
pub struct PingPong {
    shared: Arc<Shared>,
    next: u64,
    partner: Option<JoinHandle<()>>,
}

impl PingPong {
    /// Starts the partner thread.
    ///
    /// # Errors
    /// When the thread cannot be spawned.
    pub fn start() -> std::io::Result<PingPong> {
        let shared = Arc::new(Shared { line: Line { word: AtomicU64::new(0) }, stop: AtomicBool::new(false) });
        let s = Arc::clone(&shared);
        let partner = std::thread::Builder::new().name("pingpong".into()).spawn(move || {
            let mut seen = 0u64;
            while !s.stop.load(Ordering::Relaxed) {
                let v = s.line.word.load(Ordering::Acquire);
                if v != seen && v % 2 == 1 {
                    seen = v + 1;
                    s.line.word.store(seen, Ordering::Release);
                } else {
                    core::hint::spin_loop();
                }
            }
        })?;
        Ok(PingPong { shared, next: 1, partner: Some(partner) })
    }

    /// Hands the line to the partner and waits until it comes back.
    #[inline]
    pub fn round_trip(&mut self) {
        let ping = self.next;
        self.next += 2;
        self.shared.line.word.store(ping, Ordering::Release);
        while self.shared.line.word.load(Ordering::Acquire) != ping + 1 {
            core::hint::spin_loop();
        }
    }
}

impl Drop for PingPong {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.partner.take() {
            let _ = t.join();
        }
    }
}
