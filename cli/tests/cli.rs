//! `mlx5cmd` as a user runs it, against the device model: every subcommand, every output format, decode
//! of known bytes, scope refusal, firmware errors and a missing device.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run_with(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlx5cmd"))
        .args(["--device", "sim"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mlx5cmd runs");
    child.stdin.take().expect("stdin").write_all(stdin).expect("write stdin");
    child.wait_with_output().expect("mlx5cmd finishes")
}

fn run(args: &[&str]) -> Output {
    run_with(args, b"")
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stderr.is_empty(), "{args:?}: quiet on success when piped: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("utf-8 output")
}

fn fails(args: &[&str], code: i32) -> String {
    let o = run(args);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(": ")))
        .unwrap_or_else(|| panic!("no `{key}:` line in\n{out}"))
}

#[test]
fn info_shows_the_device_firmware_and_session() {
    let out = ok(&["info"]);
    assert_eq!(line(&out, "device"), "sim");
    assert_eq!(line(&out, "firmware_version"), "22.41.1000");
    assert_eq!(line(&out, "board_id"), "MT_0000000359");
    assert_eq!(line(&out, "uctx_caps"), "tools_resources");
    assert_ne!(line(&out, "uid"), "0", "a session has its own user context");
    let json = ok(&["--json", "info"]);
    assert!(json.starts_with('{') && json.trim_end().ends_with('}'), "{json}");
    assert!(json.contains("\"firmware_version\":\"22.41.1000\""), "{json}");
}

#[test]
fn cap_decodes_current_and_max_values_by_name_or_type() {
    let cur = ok(&["cap", "general"]);
    let max = ok(&["cap", "0", "--max"]);
    let (c, m): (u32, u32) = (line(&cur, "log_max_qp").parse().unwrap(), line(&max, "log_max_qp").parse().unwrap());
    assert!(c > 0 && c <= m, "current {c}, max {m}");
    assert_eq!(line(&cur, "port_type"), "ethernet");
    let e = fails(&["cap", "no_such_page"], 2);
    assert!(e.contains("no capability page"), "{e}");
}

#[test]
fn reg_reads_with_index_arguments_and_every_format() {
    let out = ok(&["reg", "PAOS", "--port", "2"]);
    assert_eq!(line(&out, "local_port"), "2");
    assert_eq!(line(&out, "admin_status"), "up");
    // Generic field=value index, by register id.
    let t = ok(&["reg", "0x900a", "--index", "sensor_index=1"]);
    assert_eq!(line(&t, "sensor_index"), "1");
    let hex = ok(&["-H", "reg", "PAOS", "--port", "1"]);
    assert!(hex.starts_with("00 01 "), "{hex}");
    let bin = run(&["-B", "reg", "PAOS", "--port", "1"]);
    assert!(bin.status.success());
    assert_eq!(bin.stdout.get(..2), Some(&[0u8, 1][..]));
    assert_eq!(bin.stdout.len(), 16);
    let json = ok(&["--json", "reg", "PAOS", "--port", "1"]);
    assert!(json.contains("\"admin_status\":\"up\""), "{json}");
    let e = fails(&["reg", "PAOS", "--index", "no_field=1"], 2);
    assert!(e.contains("no field `no_field`"), "{e}");
}

#[test]
fn reg_write_is_allowed_at_configuration_scope() {
    // A write (op_mod 0) is allowed even at CONFIGURATION; the model answers with the register.
    let out = ok(&[
        "--scope",
        "configuration",
        "reg",
        "PAOS",
        "--port",
        "1",
        "--set",
        "admin_status=down",
        "--set",
        "ase=true",
    ]);
    assert_eq!(line(&out, "local_port"), "1");
    assert_eq!(line(&out, "admin_status"), "down", "the model reports the port it took down");
    assert_eq!(line(&out, "oper_status"), "down");
}

#[test]
fn reg_all_dumps_every_register_with_a_layout_quietly_when_piped() {
    let o = run(&["--json", "reg", "--all"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json = String::from_utf8(o.stdout).unwrap();
    assert!(json.contains("\"PAOS\":{") && json.contains("\"MTCAP\":{"), "{json}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains('\r') && !stderr.contains("[1/"), "no progress when stderr is a pipe: {stderr}");
}

#[test]
fn a_command_outside_the_scope_is_refused_with_exit_5() {
    let e = fails(&["--scope", "configuration", "reg", "MTMP"], 5);
    assert!(e.contains("not allowed") && e.contains("debug_read_only"), "{e}");
    let e = fails(&["diagcnt", "set", "--counter", "1"], 5);
    assert!(e.contains("SET_DIAGNOSTIC_PARAMS") && e.contains("debug_write"), "{e}");
    // A command no scope allows.
    let e =
        fails(&["--scope", "debug_write_full", "rpc", "--in", "01 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00"], 5);
    assert!(e.contains("TEARDOWN_HCA") && e.contains("never allowed"), "{e}");
    fails(&["--scope", "everything", "info"], 2);
}

#[test]
fn diagcnt_sets_queries_and_dumps_samples() {
    let set = ok(&["--scope", "debug_write", "diagcnt", "set", "--counter", "1,2", "--log-samples", "2"]);
    assert_eq!(line(&set, "num_of_counters"), "2");
    assert_eq!(line(&set, "counter_id[1].counter_id"), "2");
    assert_eq!(line(&set, "enable"), "true");
    let q = ok(&["--scope", "debug_write", "diagcnt", "query", "--counter", "7", "--samples", "2", "--repeat", "2"]);
    assert_eq!(q.lines().filter(|l| l.ends_with(".counter_id: 7")).count(), 4, "2 rounds x 2 samples\n{q}");
    let json = ok(&["--scope", "debug_write", "--json", "diagcnt", "query", "-c", "3"]);
    assert!(json.contains("\"counter_id\":3"), "{json}");
    let params = ok(&["diagcnt", "params"]);
    assert_eq!(line(&params, "num_of_counters"), "0", "a fresh device model has none");
    // Querying without parameters: firmware refuses, exit 6.
    let e = fails(&["diagcnt", "query"], 6);
    assert!(e.contains("firmware status"), "{e}");
}

const QUERY_ADAPTER: &str = "01 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00";

#[test]
fn rpc_sends_raw_bytes_and_returns_raw_output() {
    let out = ok(&["rpc", "--in", QUERY_ADAPTER]);
    assert_eq!(line(&out, "status"), "0");
    assert_eq!(line(&out, "syndrome"), "0x0");
    let bin = run_with(&["-B", "rpc", "-"], QUERY_ADAPTER.as_bytes());
    assert!(bin.status.success(), "{}", String::from_utf8_lossy(&bin.stderr));
    assert_eq!(bin.stdout.len(), 272, "query_adapter_out");
    assert_eq!(bin.stdout[0], 0, "status ok");
    // Binary input on stdin works the same.
    let mut raw = vec![0u8; 16];
    raw[0] = 0x01;
    raw[1] = 0x01;
    let hex = run_with(&["-H", "rpc", "--raw-in"], &raw);
    assert!(hex.status.success());
    assert!(String::from_utf8(hex.stdout).unwrap().starts_with("00 00 00 00"));
}

#[test]
fn rpc_returns_the_output_of_a_firmware_error_and_exits_6() {
    // QUERY_CQ is allowed at debug_read_only; the model does not implement it.
    let o = run(&["rpc", "--in", "04 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00", "--out-len", "16"]);
    assert_eq!(o.status.code(), Some(6));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(line(&out, "status"), "2", "the outbox is printed: BAD_OPCODE");
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad_opcode"));
}

#[test]
fn decode_reads_known_bytes_as_any_layout() {
    // PAOS: local_port 3, admin_status 2 (down), oper_status 1 (up), ase set.
    let bytes = "00 03 02 01 80 00 00 00 00 00 00 00 00 00 00 00";
    let o = run_with(&["decode", "paos_reg"], bytes.as_bytes());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(line(&out, "local_port"), "3");
    assert_eq!(line(&out, "admin_status"), "down");
    assert_eq!(line(&out, "oper_status"), "up");
    assert_eq!(line(&out, "ase"), "true");
    let json = run_with(&["--json", "decode", "paos_reg", "-"], bytes.as_bytes());
    assert_eq!(
        String::from_utf8(json.stdout).unwrap().trim(),
        r#"{"swid":0,"local_port":3,"admin_status":"down","oper_status":"up","ase":true,"ee":false,"e":0}"#
    );
    let e = fails(&["decode", "no_such_layout"], 2);
    assert!(e.contains("no layout"), "{e}");
}

#[test]
fn a_missing_device_is_a_clear_error_with_exit_3() {
    let o = Command::new(env!("CARGO_BIN_EXE_mlx5cmd"))
        .args(["--device", "/dev/fwctl/fwctl4095", "info"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("/dev/fwctl/fwctl4095") && e.contains("no such fwctl device"), "{e}");
    assert!(o.stdout.is_empty());
}

#[test]
fn list_and_help() {
    let regs = ok(&["list", "registers"]);
    assert!(regs.lines().any(|l| l.starts_with("PAOS")), "{regs}");
    let help = ok(&["--help"]);
    assert!(help.contains("diagcnt") && help.contains("--scope"));
    fails(&["frobnicate"], 2);
}
