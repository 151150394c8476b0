//! Proof that `mlx5-cmdif` builds without `std`: a freestanding binary with its own panic handler that uses
//! a few layouts, so that they are really compiled and linked. If the library (or one of its dependencies)
//! linked `std`, this crate would fail with a duplicate `panic_impl` lang item.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;

use mlx5_cmdif::command::Command;
use mlx5_cmdif::prm::{CmdQueueEntry, ManagePagesIn, PaosReg, PortStatus, QueryHcaCap, QueryHcaCapIn};

/// Built at compile time, as a kernel or firmware would.
const PAOS_DOWN: PaosReg = PaosReg::new().with_local_port(1).with_admin_status(PortStatus::DOWN).with_ase(true);

fn exercise() -> u32 {
    let input = QueryHcaCapIn::new().with_opcode(<QueryHcaCap as Command>::OPCODE).with_op_mod(1);
    let mut entry = CmdQueueEntry::new().with_input_length(16).with_ownership(true);
    entry.command_input_inline_data_bytes_mut().copy_from_slice(&black_box(input).0);
    let mut msg = [0u8; 32];
    let _ = ManagePagesIn::set_tail_pas(&mut msg, 1, 0x1000);
    let paos = black_box(PAOS_DOWN);
    let scope = mlx5_cmdif::catalog::min_scope(black_box(0x805), 0).map_or(9, |s| s as u32);
    u32::from(paos.local_port())
        + u32::from(black_box(entry).ownership())
        + ManagePagesIn::tail_pas(&msg, 1).map_or(0, |x| x as u32)
        + scope
}

/// The entry point: no C runtime, no `main`.
#[no_mangle]
pub extern "C" fn _start() -> ! {
    black_box(exercise());
    loop {
        core::hint::spin_loop();
    }
}

/// The precompiled `core` of hosted targets is built with unwinding and refers to the personality routine;
/// with `panic = "abort"` it is never called. Bare-metal targets do not need it.
#[cfg(not(target_os = "none"))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
