//! `mlx5cmd`: diagnostics for ConnectX (mlx5) devices through mlx5-cmdif, on the built-in device model or
//! a Linux fwctl device (`/dev/fwctl/fwctlN`), with fwctl's security scopes.
//!
//! See `docs/CLI.md` and `mlx5cmd --help`.

mod args;
mod backend;
mod cmds;
mod error;
mod input;
mod progress;
mod render;

use std::process::ExitCode;

use args::Args;
use error::CliError;

const HELP: &str = "\
mlx5cmd: diagnostics for ConnectX (mlx5) devices

usage: mlx5cmd [OPTIONS] COMMAND [ARGS]

commands:
  info                              device, firmware version, uid and capabilities of the session
  cap NAME|TYPE [--max]             a capability page (current values, or the maximum with --max)
  reg NAME|ID [--port N] [--index FIELD=VALUE]... [--set FIELD=VALUE]... [--argument N]
                                    read an access register (write it with --set)
  reg --all [--port N]              read every register the specs describe
  diagcnt params                    the diagnostic counter parameters in force
  diagcnt set --counter ID... [--log-samples N] [--log-period N] [--single] [--repetitive]
              [--sync] [--clear] [--on-demand] [--disable]
                                    set them (needs --scope debug_write)
  diagcnt query [--samples N] [--index N] [--repeat K] [--interval-ms T]
                                    read counter samples
  rpc [FILE|-] [--in HEX] [--out-len N] [--raw-in]
                                    send raw command bytes (hex text or binary), print the output
  decode LAYOUT [FILE|-] [--raw-in] decode bytes as any layout of the specs
  list layouts|commands|registers|caps

options:
  -d, --device sim|PATH   the device model, or an fwctl node such as /dev/fwctl/fwctl0
                          (default: the first /dev/fwctl device, else the device model)
  -s, --scope SCOPE       configuration, debug_read_only (default), debug_write, debug_write_full
  -H, --hex               output bytes as hex
  -B, --binary            output raw bytes
  -j, --json              output JSON
  -h, --help              this help
  -V, --version           the version

exit status: 0 ok, 1 error, 2 usage, 3 no such device, 4 permission denied,
             5 command outside the scope, 6 firmware error status
";

fn run() -> Result<(), CliError> {
    let mut args = Args::new(std::env::args().skip(1).collect());
    let global = args.global()?;
    if global.version {
        println!("mlx5cmd {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    if global.help {
        print!("{HELP}");
        return Ok(());
    }
    cmds::dispatch(&global, args)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mlx5cmd: {e}");
            if e.kind == error::Kind::Usage {
                eprintln!("(see mlx5cmd --help)");
            }
            ExitCode::from(e.kind.exit_code())
        }
    }
}
