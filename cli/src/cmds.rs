//! The subcommands. Commands are built from the generated layouts and sent as raw bytes through the
//! backend, so the device model and fwctl see exactly the same messages.

use std::time::Duration;

use zerocopy::IntoBytes;

use mlx5_cmdif::catalog;
use mlx5_cmdif::command::{CapDesc, RegisterDesc, Scope};
use mlx5_cmdif::engine::hca::query_cap_op_mod;
use mlx5_cmdif::layout::{LayoutDesc, Value};
use mlx5_cmdif::prm::{
    AccessRegisterIn, AccessRegisterOut, CmdHcaCap, CounterId, DiagnosticCntrStruct, DiagnosticParamsContext,
    MboxOutHdr, Opcode, QueryAdapterIn, QueryAdapterOut, QueryDiagnosticCntrsIn, QueryDiagnosticCntrsOut,
    QueryDiagnosticParamsIn, QueryDiagnosticParamsOut, QueryHcaCapIn, QueryHcaCapOut, SetDiagnosticParamsIn,
    SetDiagnosticParamsOut, UctxCap, CAPS, COMMANDS, LAYOUTS, REGISTERS,
};
use mlx5_cmdif::scope::MIN_RPC_LEN;

use crate::args::{Args, Global};
use crate::backend::{self, check_status, Backend};
use crate::error::CliError;
use crate::input::{apply_setting, parse_hex, parse_num, read_bytes};
use crate::progress::Progress;
use crate::render::{self, emit, hex, hex_lines, layout_node, Format, Node};

/// Runs the subcommand in `args`.
pub fn dispatch(g: &Global, mut args: Args) -> Result<(), CliError> {
    let sub = args.take_positional().ok_or_else(|| CliError::usage("no command given"))?;
    let mut open = || -> Result<Box<dyn Backend>, CliError> { backend::open(g.device.as_deref()) };
    match sub.as_str() {
        "decode" => decode(g, args),
        "list" => list(g, args),
        "info" => {
            args.positionals()?;
            info(g, open()?.as_mut())
        }
        "cap" => cap(g, args, &mut open),
        "reg" => reg(g, args, &mut open),
        "diagcnt" => diagcnt(g, args, &mut open),
        "rpc" => rpc(g, args, &mut open),
        other => Err(CliError::usage(format!("unknown command `{other}`"))),
    }
}

// ---------------------------------------------------------------------------------------------- info

fn info(g: &Global, be: &mut dyn Backend) -> Result<(), CliError> {
    let d = be.info();
    let input = QueryAdapterIn::new().with_opcode(Opcode::QUERY_ADAPTER.0);
    let adapter = backend::run(be, g.scope, input.as_bytes(), QueryAdapterOut::SIZE)?;
    let cap_in = QueryHcaCapIn::new().with_opcode(Opcode::QUERY_HCA_CAP.0).with_op_mod(query_cap_op_mod(0, true));
    let caps = backend::run(be, g.scope, cap_in.as_bytes(), QueryHcaCapOut::SIZE)?;
    let mut a = QueryAdapterOut::new();
    a.as_mut_bytes().iter_mut().zip(&adapter).for_each(|(d, s)| *d = *s);
    let mut general = CmdHcaCap::new();
    general.as_mut_bytes().iter_mut().zip(caps.get(16..).unwrap_or(&[])).for_each(|(d, s)| *d = *s);
    let p = a.query_adapter_struct();
    let psid = p.vsd_contd_psid_bytes();
    let psid = String::from_utf8_lossy(psid.split(|b| *b == 0).next().unwrap_or(&[])).trim().to_string();
    let mut m: Vec<(String, Node)> = vec![
        ("device".into(), Node::str(&d.device)),
        ("backend".into(), Node::str(d.backend)),
        ("device_type".into(), Node::str("mlx5")),
    ];
    if let Some(pci) = &d.pci {
        m.push(("pci".into(), Node::str(pci)));
    }
    m.push(("firmware_version".into(), Node::str(d.fw_version.as_deref().unwrap_or("unknown"))));
    m.push(("board_id".into(), Node::str(&psid)));
    m.push((
        "vendor_id".into(),
        Node::Leaf { text: format!("{:#06x}", p.ieee_vendor_id()), json: p.ieee_vendor_id().to_string() },
    ));
    m.push(("ports".into(), Node::num(u64::from(general.num_ports()))));
    m.push(("scope".into(), Node::str(g.scope.name())));
    m.push(("uid".into(), Node::num(u64::from(d.uid))));
    m.push(("uctx_caps".into(), Node::str(&flags_text(d.uctx_caps))));
    m.push(("device_uctx_caps".into(), Node::str(&flags_text(general.uctx_cap()))));
    emit(g.format, &Node::Obj(m), &adapter)?;
    Ok(())
}

fn flags_text(c: UctxCap) -> String {
    match render::value_node(Value::Flags(UctxCap::DESC, u64::from(c.bits())), 32) {
        Node::Leaf { text, .. } => text,
        _ => String::new(),
    }
}

// ----------------------------------------------------------------------------------------------- cap

fn find_cap(s: &str) -> Result<(&'static CapDesc, u16), CliError> {
    let found = match parse_num(s) {
        Some(n) => u16::try_from(n).ok().and_then(catalog::cap),
        None => catalog::cap_by_name(s),
    };
    found
        .map(|c| (c, c.cap_type))
        .ok_or_else(|| CliError::usage(format!("no capability page `{s}` in the specs (see `mlx5cmd list caps`)")))
}

type Open<'a> = dyn FnMut() -> Result<Box<dyn Backend>, CliError> + 'a;

fn cap(g: &Global, mut args: Args, open: &mut Open<'_>) -> Result<(), CliError> {
    let max = args.flag(&["--max"]);
    let pos = args.positionals()?;
    let [name] = pos.as_slice() else { return Err(CliError::usage("cap takes one page name or type")) };
    let (desc, cap_type) = find_cap(name)?;
    let mut be = open()?;
    let input = QueryHcaCapIn::new().with_opcode(Opcode::QUERY_HCA_CAP.0).with_op_mod(query_cap_op_mod(cap_type, !max));
    let out = backend::run(be.as_mut(), g.scope, input.as_bytes(), QueryHcaCapOut::SIZE)?;
    let page = out.get(16..).unwrap_or(&[]);
    let page = match desc.layout {
        Some(l) => page.get(..l.size_bytes()).unwrap_or(page),
        None => page,
    };
    let node = match desc.layout {
        Some(l) => layout_node(l, page),
        None => Node::str(&hex(page)),
    };
    emit(g.format, &node, page)?;
    Ok(())
}

// ----------------------------------------------------------------------------------------------- reg

fn find_register(s: &str) -> Result<&'static RegisterDesc, CliError> {
    let found = match parse_num(s) {
        Some(n) => u16::try_from(n).ok().and_then(catalog::register),
        None => catalog::register_by_name(s),
    };
    found.ok_or_else(|| CliError::usage(format!("no register `{s}` in the specs (see `mlx5cmd list registers`)")))
}

/// The ACCESS_REG input for `reg` with `settings` applied (`--port` sets `local_port`).
fn register_input(
    reg: &RegisterDesc,
    layout: &'static LayoutDesc,
    port: Option<u64>,
    settings: &[String],
    write: bool,
    argument: u32,
) -> Result<Vec<u8>, CliError> {
    let mut data = vec![0u8; layout.size_bytes()];
    if let Some(p) = port {
        if layout.field("local_port").is_none() {
            return Err(CliError::usage(format!("{} has no local_port field; select it with --index", reg.name)));
        }
        apply_setting(layout, &mut data, &format!("local_port={p}"))?;
    }
    for s in settings {
        apply_setting(layout, &mut data, s)?;
    }
    let hdr = AccessRegisterIn::new()
        .with_opcode(Opcode::ACCESS_REG.0)
        .with_op_mod(if write { 0 } else { 1 })
        .with_register_id(reg.id)
        .with_argument(argument);
    let mut input = hdr.as_bytes().to_vec();
    input.extend_from_slice(&data);
    Ok(input)
}

fn reg(g: &Global, mut args: Args, open: &mut Open<'_>) -> Result<(), CliError> {
    let all = args.flag(&["--all"]);
    let port = args.num(&["--port", "-p"])?;
    let index = args.values(&["--index", "-i"])?;
    let set = args.values(&["--set"])?;
    let argument = args.num(&["--argument"])?.unwrap_or(0);
    let argument = u32::try_from(argument).map_err(|_| CliError::usage("--argument is 32 bits"))?;
    let pos = args.positionals()?;
    let hdr_len = AccessRegisterOut::SIZE;
    if all {
        if !pos.is_empty() || !set.is_empty() || !index.is_empty() {
            return Err(CliError::usage("reg --all takes only --port"));
        }
        if g.format == Format::Binary {
            return Err(CliError::usage("reg --all has no binary form; use -H or --json"));
        }
        let regs: Vec<(&RegisterDesc, &'static LayoutDesc)> =
            REGISTERS.iter().filter_map(|r| r.layout.map(|l| (*r, l))).collect();
        let mut be = open()?;
        let progress = Progress::new(regs.len());
        let mut members = Vec::new();
        let mut hex_out = String::new();
        let mut failed = Vec::new();
        for (i, (r, l)) in regs.iter().enumerate() {
            progress.step(i, r.name);
            let p = if l.field("local_port").is_some() { Some(port.unwrap_or(1)) } else { None };
            let input = register_input(r, l, p, &[], false, argument)?;
            let result = be.rpc(g.scope, &input, input.len()).and_then(|reply| {
                check_status(&input, &reply)?;
                Ok(reply.bytes)
            });
            match result {
                Ok(bytes) => {
                    let data = bytes.get(hdr_len..).unwrap_or(&[]);
                    members.push((r.name.to_string(), layout_node(l, data)));
                    hex_out.push_str(&format!("# {} ({:#06x})\n{}", r.name, r.id, hex_lines(data)));
                }
                Err(e) if e.kind == crate::error::Kind::NotAllowed => {
                    progress.done();
                    return Err(e);
                }
                Err(e) => failed.push(format!("{}: {e}", r.name)),
            }
        }
        progress.done();
        match g.format {
            Format::Hex => print!("{hex_out}"),
            f => emit(f, &Node::Obj(members), &[])?,
        }
        if !failed.is_empty() {
            eprintln!("mlx5cmd: {} of {} registers not readable:", failed.len(), regs.len());
            for f in &failed {
                eprintln!("  {f}");
            }
        }
        return Ok(());
    }
    let [name] = pos.as_slice() else { return Err(CliError::usage("reg takes one register name or id (or --all)")) };
    let r = find_register(name)?;
    let l = r
        .layout
        .ok_or_else(|| CliError::usage(format!("{} has no layout in the specs; send it with `mlx5cmd rpc`", r.name)))?;
    let write = !set.is_empty();
    let settings: Vec<String> = index.into_iter().chain(set).collect();
    let input = register_input(r, l, port, &settings, write, argument)?;
    let mut be = open()?;
    let out = backend::run(be.as_mut(), g.scope, &input, input.len())?;
    let data = out.get(hdr_len..).unwrap_or(&[]);
    emit(g.format, &layout_node(l, data), data)?;
    Ok(())
}

// ------------------------------------------------------------------------------------------- diagcnt

fn diag_params(scope: Scope, be: &mut dyn Backend) -> Result<Vec<u8>, CliError> {
    let input = QueryDiagnosticParamsIn::new().with_opcode(Opcode::QUERY_DIAGNOSTIC_PARAMS.0);
    let ctx_at = QueryDiagnosticParamsOut::FIELD_DIAGNOSTIC_PARAMS_CONTEXT.offset / 8;
    let out_len = ctx_at + DiagnosticParamsContext::len_with_counter_id(MAX_COUNTERS);
    let out = backend::run(be, scope, input.as_bytes(), out_len)?;
    Ok(out.get(ctx_at..).unwrap_or(&[]).to_vec())
}

/// The most counters one SET_DIAGNOSTIC_PARAMS selects here.
const MAX_COUNTERS: usize = 256;

fn counter_count(ctx: &[u8]) -> usize {
    match DiagnosticParamsContext::FIELD_NUM_OF_COUNTERS.read(ctx, 0) {
        Some(Value::Uint(v)) => usize::try_from(v).unwrap_or(0),
        _ => 0,
    }
}

/// SET_DIAGNOSTIC_PARAMS from the options in `rest`; returns the backend it used.
fn set_params(g: &Global, rest: &mut Args, open: &mut Open<'_>) -> Result<Box<dyn Backend>, CliError> {
    let mut ids = Vec::new();
    for c in rest.values(&["--counter", "-c"])? {
        for part in c.split(',').filter(|p| !p.is_empty()) {
            let id = parse_num(part)
                .and_then(|v| u16::try_from(v).ok())
                .ok_or_else(|| CliError::usage(format!("counter id `{part}` is not a 16-bit number")))?;
            ids.push(id);
        }
    }
    if ids.is_empty() || ids.len() > MAX_COUNTERS {
        return Err(CliError::usage(format!("diagcnt needs 1 to {MAX_COUNTERS} --counter ids")));
    }
    let log_samples = rest.num(&["--log-samples"])?.unwrap_or(0);
    let log_period = rest.num(&["--log-period"])?.unwrap_or(0);
    let mut ctx = DiagnosticParamsContext::new();
    ctx.set_num_of_counters(ids.len() as u16);
    ctx.set_log_num_of_samples(u8::try_from(log_samples).map_err(|_| CliError::usage("--log-samples is 8 bits"))?);
    ctx.set_log_sample_period(u8::try_from(log_period).map_err(|_| CliError::usage("--log-period is 8 bits"))?);
    ctx.set_single(rest.flag(&["--single"]));
    ctx.set_repetitive(rest.flag(&["--repetitive"]));
    ctx.set_sync(rest.flag(&["--sync"]));
    ctx.set_clear(rest.flag(&["--clear"]));
    ctx.set_on_demand(rest.flag(&["--on-demand"]));
    ctx.set_enable(!rest.flag(&["--disable"]));
    let mut input = SetDiagnosticParamsIn::new().with_opcode(Opcode::SET_DIAGNOSTIC_PARAMS.0);
    input.set_diagnostic_params_context(&ctx);
    let ctx_at = SetDiagnosticParamsIn::FIELD_DIAGNOSTIC_PARAMS_CONTEXT.offset / 8;
    let mut bytes = input.as_bytes().to_vec();
    bytes.resize(ctx_at + DiagnosticParamsContext::len_with_counter_id(ids.len()), 0);
    if let Some(tail) = bytes.get_mut(ctx_at..) {
        for (k, id) in ids.iter().enumerate() {
            if let Some(c) = DiagnosticParamsContext::tail_counter_id_mut(tail, k) {
                *c = CounterId::new().with_counter_id(*id);
            }
        }
    }
    let mut be = open()?;
    backend::run(be.as_mut(), g.scope, &bytes, SetDiagnosticParamsOut::SIZE)?;
    Ok(be)
}

fn diagcnt(g: &Global, mut rest: Args, open: &mut Open<'_>) -> Result<(), CliError> {
    let action = rest.take_positional().unwrap_or_else(|| "params".into());
    // Reading back needs DEBUG_READ_ONLY; a session allowed to set is allowed to read.
    let read_scope = g.scope.max(Scope::DebugReadOnly);
    match action.as_str() {
        "params" | "set" => {
            let mut be = if action == "set" { set_params(g, &mut rest, open)? } else { open()? };
            rest.positionals()?;
            let ctx = diag_params(if action == "set" { read_scope } else { g.scope }, be.as_mut())?;
            let used = ctx.get(..DiagnosticParamsContext::len_with_counter_id(counter_count(&ctx))).unwrap_or(&ctx);
            emit(g.format, &layout_node(DiagnosticParamsContext::DESC, used), used)?;
            Ok(())
        }
        "query" => {
            // With --counter, the parameters are set first (one process, one device model).
            let be = if rest.has(&["--counter", "-c"]) { Some(set_params(g, &mut rest, open)?) } else { None };
            let samples = rest.num(&["--samples", "-n"])?.unwrap_or(1);
            let index = rest.num(&["--index"])?.unwrap_or(0);
            let repeat = rest.num(&["--repeat", "-r"])?.unwrap_or(1).max(1);
            let interval = rest.num(&["--interval-ms"])?.unwrap_or(0);
            rest.positionals()?;
            let samples = u16::try_from(samples).map_err(|_| CliError::usage("--samples is 16 bits"))?;
            let index = u16::try_from(index).map_err(|_| CliError::usage("--index is 16 bits"))?;
            let mut be = match be {
                Some(be) => be,
                None => open()?,
            };
            let scope = g.scope;
            let ctx = diag_params(scope, be.as_mut())?;
            let count = counter_count(&ctx);
            let input = QueryDiagnosticCntrsIn::new()
                .with_opcode(Opcode::QUERY_DIAGNOSTIC_COUNTERS.0)
                .with_num_of_samples(samples)
                .with_sample_index(index);
            let out_len =
                QueryDiagnosticCntrsOut::len_with_diag_counter(count * usize::from(samples.max(1))).max(MIN_RPC_LEN);
            let progress = Progress::new(usize::try_from(repeat).unwrap_or(usize::MAX));
            let mut rows = Vec::new();
            let mut raw = Vec::new();
            for round in 0..repeat {
                progress.step(usize::try_from(round).unwrap_or(0), "QUERY_DIAGNOSTIC_COUNTERS");
                if round > 0 && interval > 0 {
                    std::thread::sleep(Duration::from_millis(interval));
                }
                let out = match backend::run(be.as_mut(), scope, input.as_bytes(), out_len) {
                    Ok(out) => out,
                    Err(e) => {
                        progress.done();
                        return Err(e);
                    }
                };
                let tail = out.get(QueryDiagnosticCntrsOut::SIZE..).unwrap_or(&[]);
                for e in tail.chunks_exact(DiagnosticCntrStruct::SIZE) {
                    let mut s = DiagnosticCntrStruct::new();
                    s.as_mut_bytes().copy_from_slice(e);
                    let value = (u64::from(s.counter_value_h()) << 32) | u64::from(s.counter_value_l());
                    rows.push(Node::Obj(vec![
                        ("round".into(), Node::num(round)),
                        ("sample_id".into(), Node::num(u64::from(s.sample_id()))),
                        ("counter_id".into(), Node::num(u64::from(s.counter_id()))),
                        ("value".into(), Node::num(value)),
                        ("time_stamp".into(), Node::num(u64::from(s.time_stamp_31_0()))),
                    ]));
                }
                raw.extend_from_slice(&out);
            }
            progress.done();
            emit(g.format, &Node::Obj(vec![("counter".into(), Node::Arr(rows))]), &raw)?;
            Ok(())
        }
        other => Err(CliError::usage(format!("diagcnt: unknown action `{other}` (params, set or query)"))),
    }
}

// ----------------------------------------------------------------------------------------------- rpc

fn rpc(g: &Global, mut args: Args, open: &mut Open<'_>) -> Result<(), CliError> {
    let inline = args.value(&["--in"])?;
    let out_len = args.num(&["--out-len"])?;
    let raw_in = args.flag(&["--raw-in"]);
    let pos = args.positionals()?;
    let input = match (inline, pos.as_slice()) {
        (Some(h), []) => parse_hex(&h)?,
        (None, []) => read_bytes(None, raw_in)?,
        (None, [f]) => read_bytes(Some(f), raw_in)?,
        _ => return Err(CliError::usage("rpc takes the input from one FILE, stdin or --in HEX")),
    };
    let cmd = mlx5_cmdif::scope::command_of(&input);
    let desc = catalog::command(cmd.opcode.0);
    let output = desc.and_then(|d| d.output);
    let out_len = match out_len {
        Some(n) => usize::try_from(n).map_err(|_| CliError::usage("--out-len too large"))?,
        // Known outputs: the fixed part, or as long as the input for a variable tail (ACCESS_REG
        // returns the register in place); unknown ones: 256 bytes (choose with --out-len).
        None => match output {
            Some(l) if l.tail().is_some() => l.size_bytes().max(input.len()),
            Some(l) => l.size_bytes(),
            None => 256,
        }
        .max(MIN_RPC_LEN),
    };
    let mut be = open()?;
    let reply = be.rpc(g.scope, &input, out_len)?;
    let node = if reply.bytes.len() < MboxOutHdr::SIZE {
        Node::str(&hex(&reply.bytes))
    } else if let Some(reg) = access_reg_layout(&input) {
        // ACCESS_REG: the header, then the register decoded as its own layout.
        let mut m = match layout_node(MboxOutHdr::DESC, &reply.bytes) {
            Node::Obj(m) => m,
            other => vec![("header".into(), other)],
        };
        m.push((reg.name.to_string(), layout_node(reg, reply.bytes.get(AccessRegisterOut::SIZE..).unwrap_or(&[]))));
        Node::Obj(m)
    } else {
        match output {
            Some(l) => layout_node(l, &reply.bytes),
            None if g.format == Format::Pretty => {
                print!("{}", hex_lines(&reply.bytes));
                return check_status(&input, &reply);
            }
            None => Node::str(&hex(&reply.bytes)),
        }
    };
    emit(g.format, &node, &reply.bytes)?;
    check_status(&input, &reply)
}

/// The layout of the register an ACCESS_REG input addresses, if the specs have it.
fn access_reg_layout(input: &[u8]) -> Option<&'static LayoutDesc> {
    let hdr = input.get(..AccessRegisterIn::SIZE)?;
    if mlx5_cmdif::scope::command_of(hdr).opcode != Opcode::ACCESS_REG {
        return None;
    }
    let id = match AccessRegisterIn::FIELD_REGISTER_ID.read(hdr, 0)? {
        Value::Uint(v) => u16::try_from(v).ok()?,
        _ => return None,
    };
    catalog::register(id)?.layout
}

// -------------------------------------------------------------------------------------- decode, list

fn decode(g: &Global, mut args: Args) -> Result<(), CliError> {
    let raw_in = args.flag(&["--raw-in"]);
    let pos = args.positionals()?;
    let (name, file) = match pos.as_slice() {
        [n] => (n, None),
        [n, f] => (n, Some(f.as_str())),
        _ => return Err(CliError::usage("decode takes a layout name and optionally a FILE (or - for stdin)")),
    };
    let l = catalog::layout(name)
        .ok_or_else(|| CliError::usage(format!("no layout `{name}` in the specs (see `mlx5cmd list layouts`)")))?;
    let bytes = read_bytes(file, raw_in)?;
    if bytes.len() < l.size_bytes() {
        eprintln!(
            "mlx5cmd: note: {} bytes given, {} is {} bytes; fields beyond the input are left out",
            bytes.len(),
            l.name,
            l.size_bytes()
        );
    }
    emit(g.format, &layout_node(l, &bytes), &bytes)?;
    Ok(())
}

fn list(g: &Global, args: Args) -> Result<(), CliError> {
    let pos = args.positionals()?;
    let what = pos.first().map_or("commands", String::as_str);
    let rows: Vec<(String, String)> = match what {
        "layouts" => {
            LAYOUTS.iter().map(|l| (l.name.to_string(), format!("{} bytes  {}", l.size_bytes(), l.doc))).collect()
        }
        "commands" => COMMANDS
            .iter()
            .map(|c| {
                let scope = match c.scope.default {
                    Some(s) => s.name(),
                    None => "never",
                };
                (c.name.to_string(), format!("{:#06x}  {scope}", c.opcode))
            })
            .collect(),
        "registers" => REGISTERS
            .iter()
            .map(|r| {
                (r.name.to_string(), format!("{:#06x}  {}", r.id, if r.layout.is_some() { "" } else { "(no layout)" }))
            })
            .collect(),
        "caps" => CAPS.iter().map(|c| (c.name.to_string(), format!("{:#04x}  {}", c.cap_type, c.doc))).collect(),
        other => return Err(CliError::usage(format!("list: `{other}`? layouts, commands, registers or caps"))),
    };
    let node = Node::Obj(rows.iter().map(|(k, v)| (k.clone(), Node::str(v.trim_end()))).collect());
    match g.format {
        Format::Pretty | Format::Hex | Format::Binary => {
            for (k, v) in &rows {
                println!("{k:<40} {}", v.trim_end());
            }
            Ok(())
        }
        Format::Json => Ok(emit(Format::Json, &node, &[])?),
    }
}
