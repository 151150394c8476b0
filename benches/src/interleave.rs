//! Ratios measured in alternating rounds.
//!
//! On a virtual machine the two vCPUs may sit on neighbouring physical cores for a while and far apart
//! the next, and clock frequencies move with the load of the host: a benchmark and its baseline measured
//! seconds apart (as criterion runs them, one after the other) can see two different machines. Here a
//! benchmark and its baseline are measured in alternating short rounds, the ratio of each round is taken
//! from two measurements milliseconds apart, and the median of those ratios is kept. The README judges
//! the targets by these ratios and shows criterion's medians beside them.

use std::hint::black_box;
use std::time::Instant;

use mlx5_cmdif::engine::{Config, Error};
use mlx5_cmdif::prm::CmdHcaCap;

use crate::floors::{memcpy_round_trip, words_round_trip, ProtocolFloor, Words};
use crate::layout::{c_get_set, rust_get_set};
use crate::null::null_queue;
use crate::pingpong::PingPong;
use crate::rig::{rpc, rpc_input, SimRig, POOL_BYTES, RPC_BYTES};

/// A benchmark beside its baseline, from alternating rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Rounds measured.
    pub rounds: usize,
    /// Median over rounds of (benchmark time per iteration / baseline time per iteration).
    pub ratio: f64,
    /// Median over rounds of the benchmark's time per iteration, nanoseconds.
    pub bench_ns: f64,
    /// Median over rounds of the baseline's time per iteration, nanoseconds.
    pub base_ns: f64,
    /// The benchmark's time per iteration in each round, in order.
    pub rounds_bench: Vec<f64>,
}

impl Pair {
    /// The pair as a JSON object.
    pub fn json(&self) -> String {
        format!(
            "{{\"rounds\": {}, \"ratio\": {:.4}, \"bench_ns\": {:.3}, \"base_ns\": {:.3}}}",
            self.rounds, self.ratio, self.bench_ns, self.base_ns
        )
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v.get(n / 2).copied().unwrap_or(f64::NAN),
        n => (v.get(n / 2 - 1).copied().unwrap_or(f64::NAN) + v.get(n / 2).copied().unwrap_or(f64::NAN)) / 2.0,
    }
}

/// Nanoseconds per call of `f` over `n` calls, after `n / 10` calls of warm-up.
fn per_call(n: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_nanos() as f64 / n.max(1) as f64
}

/// Alternates `rounds` rounds of `bench` and `base`, each returning its time per iteration in ns.
///
/// # Errors
/// The first error either side returns.
pub fn alternate<E>(
    rounds: usize,
    mut bench: impl FnMut() -> Result<f64, E>,
    mut base: impl FnMut() -> Result<f64, E>,
) -> Result<Pair, E> {
    let (mut ratios, mut benches, mut bases) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let b = base()?;
        let m = bench()?;
        ratios.push(m / b);
        benches.push(m);
        bases.push(b);
    }
    let rounds_bench = benches.clone();
    Ok(Pair {
        rounds,
        ratio: median(&mut ratios),
        bench_ns: median(&mut benches),
        base_ns: median(&mut bases),
        rounds_bench,
    })
}

/// The inline round trip on a threaded device model beside the ping-pong and beside the protocol floor
/// ([`ProtocolFloor`]), in the same rounds: the first pair judges the target, the second says how far the
/// command is from the least its protocol needs. Only one pair of threads spins at a time: each partner is
/// started and stopped around its part of a round, and the device thread is idle (it backs off) meanwhile.
///
/// # Errors
/// When the rig cannot be brought up, a NOP fails, or a partner thread cannot be spawned.
pub fn roundtrip(rounds: usize, per_round: usize, cfg: Config) -> Result<(Pair, Pair), Error> {
    let mut rig = SimRig::new(true, cfg)?;
    let mut floors = Vec::new();
    let vs_pingpong = alternate(
        rounds,
        || {
            let mut res = Ok(());
            let ns = per_call(per_round, || {
                if res.is_ok() {
                    res = rig.nop();
                }
            });
            res.map(|()| ns)
        },
        || {
            // The device thread has just been busy: the partners start after it has backed off.
            std::thread::sleep(std::time::Duration::from_millis(2));
            let mut floor = ProtocolFloor::start().map_err(|_| Error::UnknownTicket)?;
            floors.push(per_call(per_round, || floor.round_trip()));
            drop(floor);
            let mut pp = PingPong::start().map_err(|_| Error::UnknownTicket)?;
            Ok(per_call(per_round, || pp.round_trip()))
        },
    )?;
    // The protocol floor of each round was measured right before its ping-pong.
    let mut ratios: Vec<f64> = floors.iter().zip(&vs_pingpong.rounds_bench).map(|(f, b)| b / f).collect();
    let vs_protocol = Pair {
        rounds: vs_pingpong.rounds,
        ratio: median(&mut ratios),
        bench_ns: vs_pingpong.bench_ns,
        base_ns: median(&mut floors),
        rounds_bench: vs_pingpong.rounds_bench.clone(),
    };
    Ok((vs_pingpong, vs_protocol))
}

/// Moving the RPC's bytes through 8-byte atomic words ([`words_round_trip`]) beside copying them with
/// `memcpy`: how much of the RPC's gap to `memcpy` the device model's memory alone accounts for.
pub fn words(rounds: usize, per_round: usize) -> Pair {
    let w = Words::new(RPC_BYTES);
    let res: Result<Pair, core::convert::Infallible> = against_memcpy(rounds, per_round, |i, o| {
        words_round_trip(&w, i, o);
        Ok(())
    });
    match res {
        Ok(p) => p,
        Err(never) => match never {},
    }
}

/// One RPC: input, output buffer; the output length.
type RpcFn = dyn FnMut(&[u8], &mut [u8]) -> Result<usize, Error>;

/// A 256 KiB RPC (device model executing synchronously when `model`, else the null device) beside
/// copying the same bytes there and back.
///
/// # Errors
/// When the queue cannot be brought up or an RPC fails.
pub fn mailbox(rounds: usize, per_round: usize, model: bool, cfg: Config) -> Result<Pair, Error> {
    let mut bench: Box<RpcFn> = if model {
        let mut rig = SimRig::new(false, cfg)?;
        Box::new(move |i, o| rpc(&mut rig.q, i, o))
    } else {
        let mut q = null_queue(mlx5_cmdif::sim::SimClock::new(), cfg, POOL_BYTES)?;
        Box::new(move |i, o| rpc(&mut q, i, o))
    };
    against_memcpy(rounds, per_round, |i, o| bench(i, o).map(|_| ()))
}

/// `bench` moving the RPC's input there and an output back, in alternating rounds with
/// [`memcpy_round_trip`] of the same bytes.
fn against_memcpy<E>(
    rounds: usize,
    per_round: usize,
    mut bench: impl FnMut(&[u8], &mut [u8]) -> Result<(), E>,
) -> Result<Pair, E> {
    let input = rpc_input(RPC_BYTES);
    let (mut out, mut dev, mut copy_out) = (vec![0u8; RPC_BYTES], vec![0u8; RPC_BYTES], vec![0u8; RPC_BYTES]);
    alternate(
        rounds,
        || {
            let mut res = Ok(());
            let ns = per_call(per_round, || {
                if res.is_ok() {
                    res = bench(black_box(&input), black_box(&mut out));
                }
            });
            res.map(|()| ns)
        },
        || Ok(per_call(per_round, || memcpy_round_trip(&mut dev, black_box(&input), black_box(&mut copy_out)))),
    )
}

/// The generated accessors beside the C shift-and-mask macros, on the same fields of `cmd_hca_cap`.
pub fn layout(rounds: usize, per_round: usize) -> Pair {
    let mut cap = CmdHcaCap::new();
    let mut seed = 0u8;
    let mut run = |f: fn(&mut CmdHcaCap, u8) -> u32| {
        per_call(per_round, || {
            seed = seed.wrapping_add(1);
            black_box(f(black_box(&mut cap), black_box(seed)));
        })
    };
    let mut rust = Vec::new();
    let mut c = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..rounds {
        let b = run(c_get_set);
        let m = run(rust_get_set);
        ratios.push(m / b);
        rust.push(m);
        c.push(b);
    }
    let rounds_bench = rust.clone();
    Pair { rounds, ratio: median(&mut ratios), bench_ns: median(&mut rust), base_ns: median(&mut c), rounds_bench }
}
