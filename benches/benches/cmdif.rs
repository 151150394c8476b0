//! The benchmarks of mlx5-cmdif, each beside the baseline it is judged against, measured in the same run.
//!
//! ```sh
//! cargo bench -p mlx5-cmdif-bench            # full measurement
//! benches/run.sh --quick                     # short run, then the README table and plot
//! ```
//!
//! What each figure means and how to read the ratios: `docs/BENCHMARKS.md`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mlx5_cmdif::engine::Config;
use mlx5_cmdif::prm::{CmdHcaCap, Nop, NopIn};
use mlx5_cmdif::sim::SimClock;
use mlx5_cmdif_bench::floors::{memcpy_round_trip, words_round_trip, ProtocolFloor, Words};
use mlx5_cmdif_bench::interleave;
use mlx5_cmdif_bench::layout::{c_get_set, rust_get_set};
use mlx5_cmdif_bench::null::null_queue;
use mlx5_cmdif_bench::pingpong::PingPong;
use mlx5_cmdif_bench::rig::{rpc, rpc_input, SimRig, POOL_BYTES, RPC_BYTES};

/// Polling across cores: spin on the ownership bit, no delay between polls.
fn spin() -> Config {
    Config { poll_delay_us: 0, ..Config::default() }
}

/// One inline command on the device thread, beside a cache line bounced between two threads.
fn roundtrip(c: &mut Criterion) {
    let mut g = c.benchmark_group("roundtrip");
    {
        let mut rig = SimRig::new(true, spin()).expect("threaded device model comes up");
        assert!(rig.dev.is_threaded(), "the device model runs on its own thread");
        g.bench_function("inline_cmd", |b| b.iter(|| rig.nop().expect("NOP")));
    }
    {
        let mut pp = PingPong::start().expect("partner thread");
        g.bench_function("pingpong_baseline", |b| b.iter(|| pp.round_trip()));
    }
    {
        let mut floor = ProtocolFloor::start().expect("partner thread");
        g.bench_function("protocol_floor", |b| b.iter(|| floor.round_trip()));
    }
    g.finish();
}

/// The engine's own cost per inline command: the device model executing in the doorbell write, and
/// (for reference) a device that does nothing but hand the entry back.
fn engine(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    {
        let mut rig = SimRig::new(false, spin()).expect("device model comes up");
        g.bench_function("overhead_sync", |b| b.iter(|| rig.nop().expect("NOP")));
    }
    {
        let mut q = null_queue(SimClock::new(), spin(), POOL_BYTES).expect("null device comes up");
        g.bench_function("overhead_null_device", |b| {
            b.iter(|| q.execute::<Nop>(black_box(&NopIn::new())).expect("NOP"))
        });
    }
    g.finish();
}

/// 256 KiB in and 256 KiB out through signed mailbox chains, beside copying the same bytes.
fn mailbox(c: &mut Criterion) {
    let mut g = c.benchmark_group("mailbox");
    g.throughput(Throughput::Bytes(2 * RPC_BYTES as u64));
    let input = rpc_input(RPC_BYTES);
    let mut out = vec![0u8; RPC_BYTES];
    let cfg = Config { checksums: true, ..spin() };
    {
        let mut rig = SimRig::new(false, cfg).expect("device model comes up");
        g.bench_function("rpc_256k", |b| {
            b.iter(|| rpc(&mut rig.q, black_box(&input), black_box(&mut out)).expect("RPC"))
        });
    }
    {
        let mut q = null_queue(SimClock::new(), cfg, POOL_BYTES).expect("null device comes up");
        g.bench_function("rpc_256k_null_device", |b| {
            b.iter(|| rpc(&mut q, black_box(&input), black_box(&mut out)).expect("RPC"))
        });
    }
    {
        let words = Words::new(RPC_BYTES);
        g.bench_function("atomic_words_floor", |b| {
            b.iter(|| words_round_trip(&words, black_box(&input), black_box(&mut out)))
        });
    }
    {
        let mut dev_in = vec![0u8; RPC_BYTES];
        // There: the input into device memory; back: the output out of it.
        g.bench_function("memcpy_baseline", |b| {
            b.iter(|| memcpy_round_trip(&mut dev_in, black_box(&input), black_box(&mut out)))
        });
    }
    g.finish();
}

/// Reading and writing fields of `cmd_hca_cap`: generated accessors beside the C shift-and-mask macros.
fn layout(c: &mut Criterion) {
    let mut g = c.benchmark_group("layout");
    let mut cap = CmdHcaCap::new();
    let mut seed = 0u8;
    g.bench_function("get_set", |b| {
        b.iter(|| {
            seed = seed.wrapping_add(1);
            black_box(rust_get_set(black_box(&mut cap), black_box(seed)))
        })
    });
    g.bench_function("c_macro_baseline", |b| {
        b.iter(|| {
            seed = seed.wrapping_add(1);
            black_box(c_get_set(black_box(&mut cap), black_box(seed)))
        })
    });
    g.finish();
}

/// Each target's ratio again, from alternating rounds of the benchmark and its baseline (see
/// `benches/src/interleave.rs`), written to `target/criterion/alternating.json` for the report.
fn alternating(_: &mut Criterion) {
    let signed = Config { checksums: true, ..spin() };
    let (vs_pingpong, vs_protocol) = interleave::roundtrip(31, 20_000, spin()).expect("round trips");
    let pairs = [
        ("roundtrip", vs_pingpong),
        ("roundtrip_protocol_floor", vs_protocol),
        ("rpc_256k", interleave::mailbox(15, 40, true, signed).expect("RPCs on the device model")),
        ("rpc_256k_null_device", interleave::mailbox(15, 100, false, signed).expect("RPCs on the null device")),
        ("atomic_words_floor", interleave::words(15, 100)),
        ("layout", interleave::layout(31, 200_000)),
    ];
    let body: Vec<String> = pairs
        .iter()
        .map(|(name, p)| {
            println!(
                "alternating/{name:<22} {} rounds: {:.1} ns vs baseline {:.1} ns, median ratio {:.3}",
                p.rounds, p.bench_ns, p.base_ns, p.ratio
            );
            format!("  \"{name}\": {}", p.json())
        })
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    std::fs::create_dir_all(&dir).expect("criterion output folder");
    std::fs::write(dir.join("alternating.json"), format!("{{\n{}\n}}\n", body.join(",\n")))
        .expect("write alternating.json");
}

criterion_group!(benches, roundtrip, engine, mailbox, layout, alternating);
criterion_main!(benches);
