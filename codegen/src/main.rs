//! `cargo run -p codegen -- <generate|check|dump --json>`: see `specs/README.md`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use codegen::emit::{self, Output};

const USAGE: &str = "usage: codegen <command> [--specs DIR] [--out DIR]

commands:
  generate      validate the specs and write the generated Rust into the output folder
  check         validate the specs and fail if the committed generated Rust differs from what they produce
  dump --json   print every layout, field, command, register and capability page as JSON
  import-ifc PATH [--out SPECS]   merge the layouts, enums and opcodes of a kernel-style mlx5_ifc.h
                                  into the specs (a folder: split by area; a .toml file: all in it)
  import-json PATH [--out SPECS]  the same from the reference JSON format (tests/data/prm-layouts.json)

defaults: --specs <workspace>/specs, --out <workspace>/src/prm (for import: --out <workspace>/specs)";

struct Args {
    command: String,
    json: bool,
    specs: PathBuf,
    out: PathBuf,
    out_given: bool,
    input: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default();
    let mut a = Args {
        command: String::new(),
        json: false,
        specs: root.join("specs"),
        out: root.join("src/prm"),
        out_given: false,
        input: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--json" => a.json = true,
            "--specs" => a.specs = it.next().ok_or("--specs needs a folder")?.into(),
            "--out" => {
                a.out = it.next().ok_or("--out needs a path")?.into();
                a.out_given = true;
            }
            "-h" | "--help" => return Err(String::new()),
            c if a.command.is_empty() && !c.starts_with('-') => a.command = c.to_string(),
            c if a.command.starts_with("import-") && a.input.is_none() && !c.starts_with('-') => {
                a.input = Some(c.into());
            }
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    Ok(a)
}

fn display_of(p: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    p.strip_prefix(&cwd).unwrap_or(p).display().to_string()
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("codegen: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.command.starts_with("import-") {
        return import(&args);
    }
    let files = match codegen::read_dir(&args.specs, &display_of(&args.specs)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("codegen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let loaded = codegen::load(files);
    eprint!("{}", loaded.diags.render());
    if loaded.diags.has_errors() {
        let n = loaded.diags.list.iter().filter(|d| d.severity == codegen::diag::Severity::Error).count();
        eprintln!("codegen: {n} error(s) in the specs; nothing generated");
        return ExitCode::FAILURE;
    }
    match (args.command.as_str(), args.json) {
        ("dump", true) => match serde_json::to_string_pretty(&codegen::dump::to_json(&loaded.spec)) {
            Ok(s) => {
                println!("{s}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("codegen: {e}");
                ExitCode::FAILURE
            }
        },
        ("dump", false) => {
            eprintln!("codegen: dump needs --json\n{USAGE}");
            ExitCode::from(2)
        }
        ("generate", _) => generate(&args.out, &emit::emit(&loaded.spec)),
        ("check", _) => check(&args.out, &emit::emit(&loaded.spec)),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Generated files in `out` that no spec produces any more (they carry the generated header).
fn stale(out: &Path, outputs: &[Output]) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .filter(|p| !outputs.iter().any(|o| p.file_name().is_some_and(|n| n == o.path.as_str())))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.starts_with("// @generated")))
        .collect();
    v.sort();
    v
}

fn generate(out: &Path, outputs: &[Output]) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("codegen: {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    let mut changed = 0;
    for o in outputs {
        let p = out.join(&o.path);
        if std::fs::read_to_string(&p).ok().as_deref() == Some(o.text.as_str()) {
            continue;
        }
        if let Err(e) = std::fs::write(&p, &o.text) {
            eprintln!("codegen: {}: {e}", p.display());
            return ExitCode::FAILURE;
        }
        changed += 1;
    }
    for p in stale(out, outputs) {
        if let Err(e) = std::fs::remove_file(&p) {
            eprintln!("codegen: {}: {e}", p.display());
            return ExitCode::FAILURE;
        }
        changed += 1;
    }
    eprintln!("codegen: {} file(s) in {}, {changed} changed", outputs.len(), display_of(out));
    ExitCode::SUCCESS
}

fn check(out: &Path, outputs: &[Output]) -> ExitCode {
    let mut bad = Vec::new();
    for o in outputs {
        let p = out.join(&o.path);
        match std::fs::read_to_string(&p) {
            Ok(t) if t == o.text => {}
            Ok(t) => {
                let line = t
                    .lines()
                    .zip(o.text.lines())
                    .position(|(a, b)| a != b)
                    .map_or_else(|| t.lines().count().min(o.text.lines().count()) + 1, |i| i + 1);
                bad.push(format!("{}: differs from what the specs produce (first at line {line})", display_of(&p)));
            }
            Err(_) => bad.push(format!("{}: missing", display_of(&p))),
        }
    }
    for p in stale(out, outputs) {
        bad.push(format!("{}: generated, but no spec produces it any more", display_of(&p)));
    }
    if bad.is_empty() {
        eprintln!("codegen: specs valid; {} generated file(s) up to date", outputs.len());
        ExitCode::SUCCESS
    } else {
        for b in &bad {
            eprintln!("codegen: {b}");
        }
        eprintln!("codegen: the generated code is stale: run `cargo run -p codegen -- generate` and commit");
        ExitCode::FAILURE
    }
}

/// `import-ifc` / `import-json`: parse the input, merge it into the specs, write them, and validate.
fn import(args: &Args) -> ExitCode {
    let Some(input) = &args.input else {
        eprintln!("codegen: {} needs the path of its input\n{USAGE}", args.command);
        return ExitCode::from(2);
    };
    let shown = display_of(input);
    let text = match std::fs::read_to_string(input) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("codegen: {shown}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let parsed = match args.command.as_str() {
        "import-ifc" => codegen::import::ifc::parse(&shown, &text),
        "import-json" => codegen::import::json::parse(&shown, &text),
        other => {
            eprintln!("codegen: unknown command `{other}`\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let header = match parsed {
        Ok(h) => h,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let out = if args.out_given { args.out.clone() } else { args.specs.clone() };
    let target = if out.extension().is_some_and(|x| x == "toml") {
        codegen::import::Target::File(&out)
    } else {
        codegen::import::Target::Dir(&out)
    };
    let files = match codegen::import::plan(&header, &target) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("codegen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut changed = 0;
    for (p, text) in &files {
        if std::fs::read_to_string(p).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        if let Some(d) = p.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        if let Err(e) = std::fs::write(p, text) {
            eprintln!("codegen: {}: {e}", p.display());
            return ExitCode::FAILURE;
        }
        changed += 1;
    }
    eprintln!(
        "codegen: {} layout(s), {} opcode(s) from {shown}; {} spec file(s), {changed} changed",
        header.layouts.len(),
        header.opcodes.len(),
        files.len()
    );
    // Validate what was written, so that a problem shows at once.
    let dir = match &target {
        codegen::import::Target::Dir(d) => d.to_path_buf(),
        codegen::import::Target::File(f) => f.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    match codegen::read_dir(&dir, &display_of(&dir)) {
        Ok(f) => {
            let loaded = codegen::load(f);
            eprint!("{}", loaded.diags.render());
            if loaded.diags.has_errors() {
                eprintln!("codegen: the imported specs do not validate yet (see above)");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("codegen: {e}");
            ExitCode::FAILURE
        }
    }
}
