//! Linking a `#![no_main]` binary for a hosted target (Linux) must not pull in the C runtime's `_start`,
//! which would call a `main` we do not have: pass `-nostartfiles` there, and link the C library only for
//! the `memcpy`/`memset` that `core` calls (Rust's own `compiler_builtins` provides them on bare metal).
//! Bare-metal targets (`*-none*`) link with `rust-lld` and need nothing. A build script (rather than `.cargo/config.toml`) so
//! that `cargo build --manifest-path ci/nostd-check/Cargo.toml` works from any directory.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.contains("linux") {
        println!("cargo:rustc-link-arg-bins=-nostartfiles");
        println!("cargo:rustc-link-arg-bins=-lc");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
