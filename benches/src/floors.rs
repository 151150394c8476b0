//! Floors below which a benchmark cannot go on this machine, whatever the library does: measured in the
//! same run, beside the baselines the targets name, to show how much of a gap is physics.
//!
//! - [`ProtocolFloor`]: the cache-line traffic of one command handoff with no work at either end. The
//!   ping-pong baseline moves one line there and back; a command through the queue needs two lines to go
//!   there (the doorbell, then the entry it points the device at) and the entry to come back, and the
//!   device may look at the entry only after it saw the doorbell.
//! - [`words_round_trip`]: moving a message into and out of memory kept as 8-byte atomic words, which is
//!   how the device model shares DMA memory between host and device threads without `unsafe`: one
//!   atomic store or load per 8 bytes, where `memcpy` moves 32 or 64 bytes per instruction.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Words of a 64-byte queue entry.
const ENTRY_WORDS: usize = 8;
/// The words a completion changes: the inline output (bytes 0x20..0x30) and the status/ownership word.
const OUTPUT_WORDS: [usize; 2] = [4, 5];
const STATUS_WORD: usize = 7;

/// One cache line (two: adjacent-line prefetch pairs them), alone.
#[repr(C, align(128))]
struct Line<T>(T);

struct Shared {
    bell: Line<AtomicU64>,
    entry: Line<[AtomicU64; ENTRY_WORDS]>,
    stop: AtomicBool,
}

/// A partner thread that plays the device of a command queue doing nothing: it waits for the doorbell,
/// reads the entry, and writes the inline output and the status word back.
pub struct ProtocolFloor {
    shared: Arc<Shared>,
    next: u64,
    partner: Option<JoinHandle<()>>,
}

impl ProtocolFloor {
    /// Starts the partner thread.
    ///
    /// # Errors
    /// When the thread cannot be spawned.
    pub fn start() -> std::io::Result<ProtocolFloor> {
        let shared = Arc::new(Shared {
            bell: Line(AtomicU64::new(0)),
            entry: Line(Default::default()),
            stop: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        let partner = std::thread::Builder::new().name("protocol-floor".into()).spawn(move || {
            let mut seen = 0u64;
            while !s.stop.load(Ordering::Relaxed) {
                let rung = s.bell.0.load(Ordering::Acquire);
                if rung == seen {
                    core::hint::spin_loop();
                    continue;
                }
                seen = rung;
                // The device reads the entry only after the doorbell, as the protocol says.
                let tag = s.entry.0.iter().fold(0, |x, w| x ^ w.load(Ordering::Acquire));
                for i in OUTPUT_WORDS {
                    if let Some(w) = s.entry.0.get(i) {
                        w.store(tag, Ordering::Relaxed);
                    }
                }
                if let Some(w) = s.entry.0.get(STATUS_WORD) {
                    w.store(rung, Ordering::Release);
                }
            }
        })?;
        Ok(ProtocolFloor { shared, next: 1, partner: Some(partner) })
    }

    /// One handoff: write the entry, ring, and wait until the partner has written the completion.
    #[inline]
    pub fn round_trip(&mut self) {
        let rung = self.next;
        self.next += 1;
        for (i, w) in self.shared.entry.0.iter().enumerate() {
            w.store(if i == STATUS_WORD { 0 } else { rung ^ i as u64 }, Ordering::Relaxed);
        }
        self.shared.bell.0.store(rung, Ordering::Release);
        let status = self.shared.entry.0.get(STATUS_WORD);
        while status.is_some_and(|w| w.load(Ordering::Acquire) != rung) {
            core::hint::spin_loop();
        }
    }
}

impl Drop for ProtocolFloor {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.partner.take() {
            let _ = t.join();
        }
    }
}

/// Memory as 8-byte atomic words, as the device model keeps DMA memory.
pub struct Words(Vec<AtomicU64>);

impl Words {
    /// `bytes` bytes of zeroed words.
    pub fn new(bytes: usize) -> Words {
        Words((0..bytes.div_ceil(8)).map(|_| AtomicU64::new(0)).collect())
    }
}

/// Copies `input` into `words` and then `words` out into `out`, 8 bytes per atomic store and load: the
/// least any transfer through the device model's memory costs.
pub fn words_round_trip(words: &Words, input: &[u8], out: &mut [u8]) {
    for (w, c) in words.0.iter().zip(input.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        w.store(u64::from_le_bytes(b), Ordering::Release);
    }
    for (w, c) in words.0.iter().zip(out.chunks_exact_mut(8)) {
        c.copy_from_slice(&w.load(Ordering::Acquire).to_le_bytes());
    }
}

/// The `memcpy` baseline of the mailbox benchmarks: `input` copied into `dev` (the device's memory) and
/// back out into `out`, with `black_box` between so neither copy is elided.
#[inline]
pub fn memcpy_round_trip(dev: &mut [u8], input: &[u8], out: &mut [u8]) {
    dev.copy_from_slice(input);
    std::hint::black_box(&mut *dev);
    out.copy_from_slice(dev);
    std::hint::black_box(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partner_completes_each_handoff() {
        let mut f = ProtocolFloor::start().unwrap();
        for _ in 0..1000 {
            f.round_trip();
        }
        let tag = (0..ENTRY_WORDS as u64).filter(|i| *i != STATUS_WORD as u64).fold(0, |x, i| x ^ (1000 ^ i));
        assert_eq!(f.shared.entry.0[4].load(Ordering::Acquire), tag, "the partner read the last entry whole");
    }

    #[test]
    fn words_carry_the_bytes_there_and_back() {
        let input: Vec<u8> = (0..4096u32).map(|i| (i * 7) as u8).collect();
        let mut out = vec![0u8; 4096];
        words_round_trip(&Words::new(4096), &input, &mut out);
        assert_eq!(input, out);
    }
}
