//! Runs one benchmark workload a fixed number of times, for a profiler that counts instructions:
//!
//! ```sh
//! cargo build -p mlx5-cmdif-bench --release --example profile
//! valgrind --tool=callgrind target/release/examples/profile null_inline 10000
//! ```
//!
//! Workloads: `null_inline`, `sim_inline`, `null_rpc`, `sim_rpc`, `layout_rust`, `layout_c`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use mlx5_cmdif::engine::Config;
use mlx5_cmdif::prm::{CmdHcaCap, Nop, NopIn};
use mlx5_cmdif::sim::SimClock;
use mlx5_cmdif_bench::layout::{c_get_set, rust_get_set};
use mlx5_cmdif_bench::null::null_queue;
use mlx5_cmdif_bench::rig::{rpc, rpc_input, SimRig, POOL_BYTES, RPC_BYTES};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map_or("null_inline", String::as_str);
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let spin = Config { poll_delay_us: 0, ..Config::default() };
    let signed = Config { checksums: true, ..spin };
    let input = rpc_input(RPC_BYTES);
    let mut out = vec![0u8; RPC_BYTES];
    match what {
        "null_inline" => {
            let mut q = null_queue(SimClock::new(), spin, POOL_BYTES).unwrap();
            for _ in 0..n {
                q.execute::<Nop>(black_box(&NopIn::new())).unwrap();
            }
        }
        "sim_inline" => {
            let mut rig = SimRig::new(false, spin).unwrap();
            for _ in 0..n {
                rig.nop().unwrap();
            }
        }
        "null_rpc" => {
            let mut q = null_queue(SimClock::new(), signed, POOL_BYTES).unwrap();
            for _ in 0..n {
                rpc(&mut q, black_box(&input), black_box(&mut out)).unwrap();
            }
        }
        "sim_rpc" => {
            let mut rig = SimRig::new(false, signed).unwrap();
            for _ in 0..n {
                rpc(&mut rig.q, black_box(&input), black_box(&mut out)).unwrap();
            }
        }
        "layout_rust" | "layout_c" => {
            let mut cap = CmdHcaCap::new();
            let mut sum = 0u32;
            for i in 0..n {
                let f = if what == "layout_c" { c_get_set } else { rust_get_set };
                sum = sum.wrapping_add(f(black_box(&mut cap), i as u8));
            }
            black_box(sum);
        }
        other => {
            eprintln!("unknown workload {other}");
            std::process::exit(2);
        }
    }
}
